namespace Pxe.Tftp.Protocol;

/// <summary>TFTP opcodes: RFC 1350 §5 (1–5) and RFC 2347 §2 (6, OACK).</summary>
internal enum TftpOpcode : ushort
{
    /// <summary>Read request.</summary>
    ReadRequest = 1,

    /// <summary>Write request.</summary>
    WriteRequest = 2,

    /// <summary>Data block.</summary>
    Data = 3,

    /// <summary>Acknowledgement.</summary>
    Acknowledgement = 4,

    /// <summary>Error.</summary>
    Error = 5,

    /// <summary>Option acknowledgement (RFC 2347).</summary>
    OptionAcknowledgement = 6,
}
