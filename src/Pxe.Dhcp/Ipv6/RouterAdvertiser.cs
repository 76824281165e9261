using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Pxe.Dhcp.Server;

namespace Pxe.Dhcp.Ipv6;

/// <summary>
/// "Fast iPXE" on one interface: answers IPv6 Router Solicitations with the advertisement of
/// <see cref="RouterAdvertisement"/> (to all nodes, ff02::1), and sends one when it starts. Opt-in: sending router
/// advertisements on a segment is a network policy decision. Bound to its interface (SO_BINDTODEVICE) like the DHCP
/// transport; nothing is sent anywhere else.
/// </summary>
public sealed partial class RouterAdvertiser : IDisposable
{
    private static readonly IPAddress AllNodes = IPAddress.Parse("ff02::1");
    private static readonly IPAddress AllRouters = IPAddress.Parse("ff02::2");
    private readonly Socket _socket;
    private readonly byte[] _advertisement = new byte[RouterAdvertisement.Length];
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private DateTimeOffset? _lastSent;
    private long _sent;
    private long _solicitations;

    private RouterAdvertiser(Socket socket, string interfaceName, int index, byte[] mac, ILogger log, TimeProvider time)
    {
        _socket = socket;
        InterfaceName = interfaceName;
        InterfaceIndex = index;
        _log = log;
        _time = time;
        RouterAdvertisement.Write(_advertisement, mac);
    }

    /// <summary>The interface advertised on.</summary>
    public string InterfaceName { get; }

    /// <summary>Its index (the scope of ff02::1).</summary>
    public int InterfaceIndex { get; }

    /// <summary>Advertisements sent so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Solicitations received so far.</summary>
    public long Solicitations => Interlocked.Read(ref _solicitations);

    /// <summary>
    /// Opens the raw ICMPv6 socket on <paramref name="interfaceName"/> (in the caller's network namespace): hop limit
    /// 255 as RFC 4861 requires, bound to the device, member of all-routers to hear solicitations.
    /// </summary>
    /// <exception cref="InvalidOperationException">The interface does not exist, has no MAC or no IPv6.</exception>
    /// <exception cref="SocketException">The socket cannot be opened (raw sockets need CAP_NET_RAW).</exception>
    public static RouterAdvertiser Open(string interfaceName, ILogger log, TimeProvider? time = null)
    {
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == interfaceName)
            ?? throw new InvalidOperationException($"fast iPXE: there is no interface '{interfaceName}'");
        if (!nic.Supports(NetworkInterfaceComponent.IPv6))
        {
            throw new InvalidOperationException($"fast iPXE: interface '{interfaceName}' has IPv6 disabled; router advertisements need an IPv6 link-local address");
        }

        var mac = nic.GetPhysicalAddress().GetAddressBytes();
        if (mac.Length != 6)
        {
            throw new InvalidOperationException($"fast iPXE: interface '{interfaceName}' has no Ethernet address");
        }

        var index = nic.GetIPProperties().GetIPv6Properties().Index;
        var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Raw, ProtocolType.IcmpV6);
        try
        {
            const int solSocket = 1, soBindToDevice = 25;
            socket.SetRawSocketOption(solSocket, soBindToDevice, Encoding.ASCII.GetBytes(interfaceName + "\0"));
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastTimeToLive, 255);
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.IpTimeToLive, 255);
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, index);
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastLoopback, false);
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.AddMembership, new IPv6MulticastOption(AllRouters, index));
            // Bound now: the first send can fail (no link-local address until a port of a bridge is up), and
            // receiving needs a bound socket either way.
            socket.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new RouterAdvertiser(socket, interfaceName, index, mac, log, time ?? TimeProvider.System);
    }

    /// <summary>Sends one advertisement now, then answers solicitations until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        Started(_log, InterfaceName);
        await SendAsync(ct);
        var buffer = new byte[1500];
        Task? pending = null;
        while (!ct.IsCancellationRequested)
        {
            int length;
            try
            {
                var received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.IPv6Any, 0), ct);
                length = received.ReceivedBytes;
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e)
            {
                Failed(_log, InterfaceName, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            if (!RouterAdvertisement.IsSolicitation(buffer.AsSpan(0, length)))
            {
                continue;
            }

            Interlocked.Increment(ref _solicitations);
            if (pending is { IsCompleted: false })
            {
                continue; // one answer is already scheduled; it serves every solicitation before it
            }

            var at = RouterAdvertisement.AnswerAt(_time.GetUtcNow(), _lastSent, Random.Shared.NextDouble());
            pending = AnswerAsync(at - _time.GetUtcNow(), ct);
        }
    }

    private async Task AnswerAsync(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, _time, ct);
            }

            await SendAsync(ct);
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private async Task SendAsync(CancellationToken ct)
    {
        try
        {
            await _socket.SendToAsync(_advertisement, SocketFlags.None, new IPEndPoint(new IPAddress(AllNodes.GetAddressBytes(), InterfaceIndex), 0), ct);
            _lastSent = _time.GetUtcNow();
            Interlocked.Increment(ref _sent);
            AdvertisementSent(_log, InterfaceName);
        }
        catch (SocketException e)
        {
            // Typically no link-local address yet (the bridge has no port up); the next solicitation retries.
            Failed(_log, InterfaceName, e.Message);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _socket.Dispose();

    [LoggerMessage(EventId = DhcpEventIds.RouterAdvertiserStarted, EventName = nameof(DhcpEventIds.RouterAdvertiserStarted), Level = LogLevel.Information,
        Message = "Fast iPXE: answering IPv6 router solicitations on {Interface} (router lifetime 0, no prefix)")]
    private static partial void Started(ILogger log, string @interface);

    [LoggerMessage(EventId = DhcpEventIds.RouterAdvertisementSent, EventName = nameof(DhcpEventIds.RouterAdvertisementSent), Level = LogLevel.Debug,
        Message = "Router advertisement sent on {Interface}")]
    private static partial void AdvertisementSent(ILogger log, string @interface);

    [LoggerMessage(EventId = DhcpEventIds.RouterAdvertiserFailed, EventName = nameof(DhcpEventIds.RouterAdvertiserFailed), Level = LogLevel.Warning,
        Message = "Fast iPXE on {Interface}: {Reason}")]
    private static partial void Failed(ILogger log, string @interface, string reason);
}
