using System.Net;
using Microsoft.Extensions.Logging;
using Pxe.Dhcp.Protocol;
using Pxe.Dhcp.Server;

namespace Pxe.Dhcp.Tests.Infrastructure;

/// <summary>The request handler with its lease manager and committer, no sockets: the server through an in-memory transport.</summary>
internal sealed class HandlerHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _committer;
    private readonly Task _recorder;

    public HandlerHarness(DhcpServerOptions options, ILeaseStore? store = null, TestInventory? inventory = null)
    {
        DhcpServerOptionsValidator.EnsureValid(options);
        Options = options;
        Store = store ?? new InMemoryLeaseStore();
        Inventory = inventory ?? new TestInventory();
        Logs = new CapturingLoggerProvider();
        var loggerFactory = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
        Leases = new LeaseManager(Store, options.Transport.MaxCommitBatch, Counters);
        var recorder = new InventoryRecorder(Inventory, loggerFactory.CreateLogger("test"));
        Handler = new DhcpRequestHandler(options, Inventory, Leases, recorder, Counters, loggerFactory, Time);
        Leases.LoadAsync(default).GetAwaiter().GetResult();
        _committer = Leases.StartCommitter(_stop.Token);
        _recorder = Task.Run(() => recorder.RunAsync(_stop.Token));
    }

    public static DhcpServerOptions FullOptions(UnknownMacPolicy policy = UnknownMacPolicy.Discover) => new()
    {
        Mode = DhcpMode.Full,
        Interfaces = ["eth1"],
        ServerAddress = IPAddress.Parse("10.0.0.1"),
        UnknownMacPolicy = policy,
        Subnets =
        [
            new DhcpSubnetOptions
            {
                Network = IPAddress.Parse("10.0.0.0"),
                PrefixLength = 24,
                Interface = "eth1",
                PoolStart = IPAddress.Parse("10.0.0.100"),
                PoolEnd = IPAddress.Parse("10.0.0.199"),
                Router = IPAddress.Parse("10.0.0.1"),
                DnsServers = [IPAddress.Parse("10.0.0.53")],
                DomainName = "lab.example",
                LeaseTime = TimeSpan.FromMinutes(10),
            },
            new DhcpSubnetOptions
            {
                Network = IPAddress.Parse("10.9.0.0"),
                PrefixLength = 16,
                PoolStart = IPAddress.Parse("10.9.1.0"),
                PoolEnd = IPAddress.Parse("10.9.1.255"),
                Router = IPAddress.Parse("10.9.0.1"),
                DnsServers = [IPAddress.Parse("10.0.0.53")],
            },
        ],
    };

    public DhcpServerOptions Options { get; }

    public ILeaseStore Store { get; }

    public TestInventory Inventory { get; }

    public CapturingLoggerProvider Logs { get; }

    public ManualTime Time { get; } = new();

    public DhcpServerCounters Counters { get; } = new();

    public LeaseManager Leases { get; }

    public DhcpRequestHandler Handler { get; }

    /// <summary>Handles a datagram; returns the decision and the reply bytes (empty when none).</summary>
    public async Task<(DhcpReply Decision, byte[] Reply)> SendAsync(byte[] datagram, string receivedOn = "eth1", bool bootServerPort = false, IPEndPoint? remote = null)
    {
        var buffer = new byte[1472];
        var decision = await Handler.HandleAsync(datagram, new ReceiveInfo(receivedOn, remote ?? new IPEndPoint(IPAddress.Any, 68), bootServerPort), buffer, default);
        return (decision, buffer[..decision.Length]);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(_committer, _recorder);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}

/// <summary>A parsed reply, for assertions.</summary>
internal sealed class ParsedReply
{
    public ParsedReply(byte[] bytes)
    {
        Bytes = bytes;
        Assert.Equal(DhcpParseStatus.Ok, DhcpPacket.TryParse(bytes, out var packet));
        Assert.Equal(BootpOpCode.BootReply, packet.Op);
        Xid = packet.TransactionId;
        Flags = packet.Flags;
        Yiaddr = new IPAddress(bytes.AsSpan(DhcpPacket.YiaddrOffset, 4));
        Siaddr = new IPAddress(bytes.AsSpan(DhcpPacket.SiaddrOffset, 4));
        Ciaddr = new IPAddress(bytes.AsSpan(DhcpPacket.CiaddrOffset, 4));
        Giaddr = new IPAddress(bytes.AsSpan(DhcpPacket.GiaddrOffset, 4));
        var file = packet.FileField;
        int nul = file.IndexOf((byte)0);
        FileField = System.Text.Encoding.ASCII.GetString(nul < 0 ? file : file[..nul]);
        foreach (var option in packet.GetOptions())
        {
            Options.Add((option.Code, option.Value.ToArray()));
        }
    }

    public byte[] Bytes { get; }

    public uint Xid { get; }

    public ushort Flags { get; }

    public IPAddress Yiaddr { get; }

    public IPAddress Siaddr { get; }

    public IPAddress Ciaddr { get; }

    public IPAddress Giaddr { get; }

    public string FileField { get; }

    public List<(DhcpOptionCode Code, byte[] Value)> Options { get; } = [];

    public DhcpMessageType Type => (DhcpMessageType)Get(DhcpOptionCode.MessageType)![0];

    public byte[]? Get(DhcpOptionCode code) => Options.Where(o => o.Code == code).Select(o => o.Value).FirstOrDefault();

    public string? Text(DhcpOptionCode code) => Get(code) is { } v ? System.Text.Encoding.ASCII.GetString(v) : null;

    public IPAddress? Address(DhcpOptionCode code) => Get(code) is { Length: 4 } v ? new IPAddress(v) : null;

    public uint? UInt32(DhcpOptionCode code) => Get(code) is { Length: 4 } v ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(v) : null;
}
