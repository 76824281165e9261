namespace Pxe.Tftp.Server;

/// <summary>Every event id the TFTP server logs, in one table (1xxx: server, 2xxx: transfers, 3xxx: requests, 9xxx: bad packets).</summary>
internal static class TftpEventIds
{
    public const int Listening = 1000;
    public const int Stopped = 1001;
    public const int ConcurrentLimitHit = 1010;
    public const int RequestQueueFull = 1011;

    public const int TransferStarted = 2000;
    public const int TransferCompleted = 2001;
    public const int TransferSizeProbe = 2002;
    public const int TransferAbortedByClient = 2003;
    public const int TransferTimedOut = 2004;
    public const int TransferSendFailed = 2005;

    public const int FileNotFound = 3000;
    public const int AccessViolation = 3001;
    public const int InvalidFileName = 3002;
    public const int WriteRefused = 3003;
    public const int UnsupportedMode = 3004;
    public const int OptionRefused = 3005;
    public const int FileSourceFailed = 3006;
    public const int NetasciiTooLarge = 3007;
    public const int RequestFailed = 3008;

    public const int MalformedDatagram = 9000;
    public const int UnexpectedOpcode = 9001;
    public const int UnknownTransferId = 9002;
}
