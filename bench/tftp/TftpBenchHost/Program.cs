using System.Net;
using Microsoft.Extensions.Logging;
using Pxe.Tftp;
using Pxe.Tftp.Server;

// A minimal host for benchmarks and manual tests:
//   TftpBenchHost --root DIR [--bind ADDR] [--port N] [--max-window N] [--max-transfers N] [--log LEVEL]
// Prints "listening <address>:<port>" once bound and the server's counters on exit (SIGINT/SIGTERM).
var root = "/srv/tftp";
var bind = IPAddress.Any;
var port = 69;
var maxWindow = 64;
var maxTransfers = 1024;
var level = LogLevel.Warning;
for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--root": root = value; break;
        case "--bind": bind = IPAddress.Parse(value); break;
        case "--port": port = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
        case "--max-window": maxWindow = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
        case "--max-transfers": maxTransfers = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
        case "--log": level = Enum.Parse<LogLevel>(value, ignoreCase: true); break;
        default: throw new ArgumentException($"Unknown argument {args[i]}.");
    }

    i++;
}

using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(level));
var options = new TftpServerOptions
{
    BindAddress = bind,
    Port = port,
    RootFolder = root,
    MaxWindowSize = maxWindow,
    MaxConcurrentTransfers = maxTransfers,
};
var server = new TftpServer(options, loggerFactory);
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    stop.Cancel();
});

var run = server.RunAsync(stop.Token);
var endPoint = await server.Listening;
Console.WriteLine($"listening {endPoint}");
await run;
var m = server.Metrics;
Console.WriteLine($"started={m.TransfersStarted} completed={m.TransfersCompleted} failed={m.TransfersFailed} aborted={m.TransfersAbortedByClient} bytes={m.BytesSent} packets={m.PacketsSent} retransmissions={m.Retransmissions} limitHits={m.ConcurrentLimitHits} badPackets={m.BadPackets}");
