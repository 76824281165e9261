namespace Pxe.Tftp.Protocol;

/// <summary>
/// Why the server sends an ERROR packet. Each reason maps to one RFC error code and one fixed message
/// (<see cref="TftpErrors"/>): the text sent to a peer never comes from an exception or a path.
/// </summary>
internal enum TftpErrorReason
{
    FileNotFound,
    AccessViolation,
    InvalidFileName,
    WriteNotSupported,
    UnsupportedMode,
    MalformedRequest,
    UnexpectedPacket,
    UnknownTransferId,
    OptionRefused,
    RetriesExhausted,
    FileSourceFailed,
    NetasciiFileTooLarge,
    ShuttingDown,
}

/// <summary>The fixed code and message for each <see cref="TftpErrorReason"/>.</summary>
internal static class TftpErrors
{
    public static TftpErrorCode CodeOf(TftpErrorReason reason) => reason switch
    {
        TftpErrorReason.FileNotFound => TftpErrorCode.FileNotFound,
        TftpErrorReason.AccessViolation => TftpErrorCode.AccessViolation,
        TftpErrorReason.InvalidFileName => TftpErrorCode.AccessViolation,
        TftpErrorReason.WriteNotSupported => TftpErrorCode.AccessViolation,
        TftpErrorReason.UnsupportedMode => TftpErrorCode.IllegalOperation,
        TftpErrorReason.MalformedRequest => TftpErrorCode.IllegalOperation,
        TftpErrorReason.UnexpectedPacket => TftpErrorCode.IllegalOperation,
        TftpErrorReason.UnknownTransferId => TftpErrorCode.UnknownTransferId,
        TftpErrorReason.OptionRefused => TftpErrorCode.OptionRefused,
        TftpErrorReason.RetriesExhausted => TftpErrorCode.NotDefined,
        TftpErrorReason.FileSourceFailed => TftpErrorCode.NotDefined,
        TftpErrorReason.NetasciiFileTooLarge => TftpErrorCode.NotDefined,
        TftpErrorReason.ShuttingDown => TftpErrorCode.NotDefined,
        _ => TftpErrorCode.NotDefined,
    };

    public static string MessageOf(TftpErrorReason reason) => reason switch
    {
        TftpErrorReason.FileNotFound => "File not found",
        TftpErrorReason.AccessViolation => "Access violation",
        TftpErrorReason.InvalidFileName => "Invalid file name",
        TftpErrorReason.WriteNotSupported => "Write requests are not accepted",
        TftpErrorReason.UnsupportedMode => "Unsupported transfer mode",
        TftpErrorReason.MalformedRequest => "Malformed request",
        TftpErrorReason.UnexpectedPacket => "Illegal TFTP operation",
        TftpErrorReason.UnknownTransferId => "Unknown transfer ID",
        TftpErrorReason.OptionRefused => "Option value not acceptable",
        TftpErrorReason.RetriesExhausted => "Transfer timed out",
        TftpErrorReason.FileSourceFailed => "Internal server error",
        TftpErrorReason.NetasciiFileTooLarge => "File too large for netascii mode",
        TftpErrorReason.ShuttingDown => "Server shutting down",
        _ => "Error",
    };
}
