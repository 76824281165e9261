using System.Net;
using Microsoft.Extensions.Logging;
using Pxe.Tftp.Protocol;

namespace Pxe.Tftp.Server;

/// <summary>The TFTP server's log messages. Field names follow the project: <c>Client</c>, <c>File</c>, <c>Interface</c>.</summary>
internal static partial class Log
{
    [LoggerMessage(TftpEventIds.Listening, LogLevel.Information, "TFTP server listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(TftpEventIds.Stopped, LogLevel.Information, "TFTP server stopped; {Active} transfers were cancelled")]
    public static partial void Stopped(ILogger logger, int active);

    [LoggerMessage(TftpEventIds.ConcurrentLimitHit, LogLevel.Warning, "Concurrent transfer limit {Limit} reached: {Dropped} read requests dropped since the last report (clients retransmit them); raise Tftp:MaxConcurrentTransfers if this persists")]
    public static partial void ConcurrentLimitHit(ILogger logger, int limit, long dropped);

    [LoggerMessage(TftpEventIds.RequestQueueFull, LogLevel.Warning, "TFTP request queue full ({Capacity}): {Dropped} requests dropped since the last report")]
    public static partial void RequestQueueFull(ILogger logger, int capacity, long dropped);

    [LoggerMessage(TftpEventIds.TransferStarted, LogLevel.Debug, "Sending {File} to {Client}: {Length} bytes, blksize {BlockSize}, windowsize {WindowSize}, mode {Mode}")]
    public static partial void TransferStarted(ILogger logger, string file, IPEndPoint client, long length, int blockSize, int windowSize, string mode);

    [LoggerMessage(TftpEventIds.TransferCompleted, LogLevel.Information, "Sent {File} to {Client}: {Length} bytes in {ElapsedMs} ms")]
    public static partial void TransferCompleted(ILogger logger, string file, IPEndPoint client, long length, long elapsedMs);

    [LoggerMessage(TftpEventIds.TransferSizeProbe, LogLevel.Debug, "{Client} ended {File} after the OACK (size probe, as UEFI firmware does)")]
    public static partial void TransferSizeProbe(ILogger logger, string file, IPEndPoint client);

    [LoggerMessage(TftpEventIds.TransferAbortedByClient, LogLevel.Information, "{Client} aborted {File} with error {ErrorCode}")]
    public static partial void TransferAbortedByClient(ILogger logger, string file, IPEndPoint client, TftpErrorCode errorCode);

    [LoggerMessage(TftpEventIds.TransferTimedOut, LogLevel.Warning, "{Client} stopped acknowledging {File} at block {Block}; gave up after {Retries} retransmissions")]
    public static partial void TransferTimedOut(ILogger logger, string file, IPEndPoint client, long block, int retries);

    [LoggerMessage(TftpEventIds.TransferSendFailed, LogLevel.Warning, "Sending {File} to {Client} failed")]
    public static partial void TransferSendFailed(ILogger logger, string file, IPEndPoint client, Exception exception);

    [LoggerMessage(TftpEventIds.FileNotFound, LogLevel.Debug, "{Client} asked for {File}: not found")]
    public static partial void FileNotFound(ILogger logger, string file, IPEndPoint client);

    [LoggerMessage(TftpEventIds.AccessViolation, LogLevel.Information, "{Client} asked for {File}: refused (outside the root or not a regular file)")]
    public static partial void AccessViolation(ILogger logger, string file, IPEndPoint client);

    [LoggerMessage(TftpEventIds.InvalidFileName, LogLevel.Information, "{Client} asked for an invalid file name ({Reason})")]
    public static partial void InvalidFileName(ILogger logger, IPEndPoint client, TftpPathStatus reason);

    [LoggerMessage(TftpEventIds.WriteRefused, LogLevel.Information, "{Client} tried to write {File}: the server is read-only")]
    public static partial void WriteRefused(ILogger logger, string file, IPEndPoint client);

    [LoggerMessage(TftpEventIds.UnsupportedMode, LogLevel.Debug, "{Client} asked for {File} in unsupported mode {Mode}")]
    public static partial void UnsupportedMode(ILogger logger, string file, IPEndPoint client, string mode);

    [LoggerMessage(TftpEventIds.OptionRefused, LogLevel.Debug, "{Client} asked for {File} with an invalid {Option} value: refused with ERROR 8")]
    public static partial void OptionRefused(ILogger logger, string file, IPEndPoint client, string option);

    [LoggerMessage(TftpEventIds.FileSourceFailed, LogLevel.Error, "Looking up {File} for {Client} failed")]
    public static partial void FileSourceFailed(ILogger logger, string file, IPEndPoint client, Exception exception);

    [LoggerMessage(TftpEventIds.NetasciiTooLarge, LogLevel.Information, "{Client} asked for {File} in netascii mode but it is {Length} bytes (limit Tftp:MaxNetasciiFileSize)")]
    public static partial void NetasciiTooLarge(ILogger logger, string file, IPEndPoint client, long length);

    [LoggerMessage(TftpEventIds.RequestFailed, LogLevel.Error, "Starting the transfer of {File} to {Client} failed")]
    public static partial void RequestFailed(ILogger logger, string file, IPEndPoint client, Exception exception);

    [LoggerMessage(TftpEventIds.MalformedDatagram, LogLevel.Debug, "Dropped a malformed datagram from {Client}: {Status}")]
    public static partial void MalformedDatagram(ILogger logger, IPEndPoint client, TftpParseStatus status);

    [LoggerMessage(TftpEventIds.UnexpectedOpcode, LogLevel.Debug, "Datagram with opcode {Opcode} from {Client} on the request port")]
    public static partial void UnexpectedOpcode(ILogger logger, IPEndPoint client, int opcode);

    [LoggerMessage(TftpEventIds.UnknownTransferId, LogLevel.Debug, "Datagram from unknown transfer ID {Client} during a transfer of {File}")]
    public static partial void UnknownTransferId(ILogger logger, string file, IPEndPoint client);
}
