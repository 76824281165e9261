namespace Pxe.Tftp.Protocol;

/// <summary>TFTP error codes: RFC 1350 appendix ("Error Codes") and RFC 2347 §2 (8).</summary>
public enum TftpErrorCode : ushort
{
    /// <summary>0: not defined, see the error message.</summary>
    NotDefined = 0,

    /// <summary>1: file not found.</summary>
    FileNotFound = 1,

    /// <summary>2: access violation.</summary>
    AccessViolation = 2,

    /// <summary>3: disk full or allocation exceeded.</summary>
    DiskFull = 3,

    /// <summary>4: illegal TFTP operation.</summary>
    IllegalOperation = 4,

    /// <summary>5: unknown transfer ID.</summary>
    UnknownTransferId = 5,

    /// <summary>6: file already exists.</summary>
    FileAlreadyExists = 6,

    /// <summary>7: no such user.</summary>
    NoSuchUser = 7,

    /// <summary>8: option negotiation refused (RFC 2347).</summary>
    OptionRefused = 8,
}
