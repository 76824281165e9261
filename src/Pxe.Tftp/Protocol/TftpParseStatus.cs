namespace Pxe.Tftp.Protocol;

/// <summary>Outcome of parsing a datagram from the network; never an exception.</summary>
internal enum TftpParseStatus
{
    /// <summary>The datagram is well formed.</summary>
    Ok,

    /// <summary>Shorter than the 2-byte opcode.</summary>
    TooShort,

    /// <summary>The opcode is not 1–6.</summary>
    UnknownOpcode,

    /// <summary>DATA, ACK or ERROR shorter than its 4-byte header.</summary>
    TruncatedHeader,

    /// <summary>A request or OACK string is not NUL-terminated.</summary>
    MissingTerminator,

    /// <summary>A request has no mode field.</summary>
    MissingMode,

    /// <summary>An option name has no value string.</summary>
    OptionWithoutValue,

    /// <summary>The file name is empty.</summary>
    EmptyFileName,

    /// <summary>A file name, mode or option is not valid UTF-8.</summary>
    InvalidText,

    /// <summary>More options than <see cref="TftpRequest.MaxOptions"/>.</summary>
    TooManyOptions,
}
