using System.Buffers;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Pxe.Dhcp.Protocol;

namespace Pxe.Dhcp.Server;

/// <summary>One listening socket: bound to one interface with SO_BINDTODEVICE, on the server or boot-server port.</summary>
internal sealed class DhcpEndpoint(Socket socket, string interfaceName, int interfaceIndex, bool bootServerPort) : IDisposable
{
    public Socket Socket { get; } = socket;

    public string Interface { get; } = interfaceName;

    public int InterfaceIndex { get; } = interfaceIndex;

    public bool BootServerPort { get; } = bootServerPort;

    public void Dispose() => Socket.Dispose();
}

/// <summary>A received datagram in a pooled buffer.</summary>
internal readonly record struct ReceivedDatagram(byte[] Buffer, int Length, IPEndPoint Remote, DhcpEndpoint Endpoint);

/// <summary>
/// The UDP edge: one socket per configured interface (and per port), each bound with SO_BINDTODEVICE so it neither
/// receives from nor sends to any other interface; broadcast replies leave through the socket of the receiving
/// interface. Each receive thread hands its datagrams to the <see cref="RequestDispatcher"/> inline.
/// </summary>
internal sealed partial class DhcpTransport : IDisposable
{
    /// <summary>Receive buffer per datagram: a 9000-byte jumbo frame's UDP payload fits.</summary>
    public const int ReceiveBufferLength = 9216;

    /// <summary>Largest reply: Ethernet MTU 1500 − IP header 20 − UDP header 8.</summary>
    public const int ReplyBufferLength = 1472;

    private const int SolSocket = 1;
    private const int SoBindToDevice = 25;
    private const nuint SiocSArp = 0x8955;
    private const int AtfCom = 0x02;

    private readonly DhcpTransportOptions _options;
    private readonly ILogger _logger;
    private readonly DhcpServerCounters _counters;

    private DhcpTransport(IReadOnlyList<DhcpEndpoint> endpoints, DhcpTransportOptions options, ILogger logger, DhcpServerCounters counters)
    {
        Endpoints = endpoints;
        _options = options;
        _logger = logger;
        _counters = counters;
    }

    public IReadOnlyList<DhcpEndpoint> Endpoints { get; }

    /// <summary>
    /// Opens and binds every socket now, on the calling thread (so in its network namespace). Throws
    /// <see cref="DhcpConfigurationException"/> naming each interface that does not exist.
    /// </summary>
    public static DhcpTransport Bind(DhcpServerOptions options, ILogger logger, DhcpServerCounters counters)
    {
        var indexes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.Supports(NetworkInterfaceComponent.IPv4))
            {
                indexes[nic.Name] = nic.GetIPProperties().GetIPv4Properties().Index;
            }
        }

        var missing = options.Interfaces.Where(i => !indexes.ContainsKey(i)).ToList();
        if (missing.Count > 0)
        {
            throw new DhcpConfigurationException(
                [.. missing.Select(m => $"Interfaces: '{m}' does not exist or has no IPv4 on this host. Existing: {string.Join(", ", indexes.Keys.Order(StringComparer.Ordinal))}.")]);
        }

        var endpoints = new List<DhcpEndpoint>();
        try
        {
            foreach (var name in options.Interfaces)
            {
                endpoints.Add(Open(options.Transport, name, indexes[name], options.Transport.ServerPort, bootServerPort: false));
                if (options.Mode == DhcpMode.Proxy)
                {
                    endpoints.Add(Open(options.Transport, name, indexes[name], options.Transport.BootServerPort, bootServerPort: true));
                }
            }
        }
        catch
        {
            foreach (var endpoint in endpoints)
            {
                endpoint.Dispose();
            }

            throw;
        }

        foreach (var endpoint in endpoints)
        {
            Log.Listening(logger, endpoint.Interface, endpoint.InterfaceIndex, endpoint.Socket.LocalEndPoint?.ToString() ?? "");
        }

        return new DhcpTransport(endpoints, options.Transport, logger, counters);
    }

    private static DhcpEndpoint Open(DhcpTransportOptions options, string interfaceName, int index, int port, bool bootServerPort)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // SO_BINDTODEVICE before bind: several sockets may then share port 67, one per interface.
            byte[] name = new byte[Encoding.ASCII.GetByteCount(interfaceName) + 1];
            Encoding.ASCII.GetBytes(interfaceName, name);
            socket.SetRawSocketOption(SolSocket, SoBindToDevice, name);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Broadcast, true);
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
            if (options.ReceiveBufferBytes > 0)
            {
                socket.ReceiveBufferSize = options.ReceiveBufferBytes;
            }

            socket.Bind(new IPEndPoint(options.ListenAddress, port));
            return new DhcpEndpoint(socket, interfaceName, index, bootServerPort);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>How often a blocked receive wakes up to notice cancellation.</summary>
    public static readonly TimeSpan ReceivePollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Receives on one endpoint until cancelled, on a dedicated thread with blocking receives (one recvmsg per
    /// datagram, no event-loop hop), handing each datagram to <paramref name="dispatcher"/> on this thread; nothing
    /// thrown escapes. Before blocking on an empty socket it lets the dispatcher commit what it queued. The returned
    /// task completes when the thread has ended.
    /// </summary>
    public Task StartReceiver(DhcpEndpoint endpoint, RequestDispatcher dispatcher, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                RequestDispatcher.EnterReceiveThread();
                ReceiveLoop(endpoint, dispatcher, cancellationToken);
            }
            finally
            {
                done.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = $"dhcp-rx-{endpoint.Interface}",
        };
        thread.Start();
        return done.Task;
    }

    private void ReceiveLoop(DhcpEndpoint endpoint, RequestDispatcher dispatcher, CancellationToken cancellationToken)
    {
        endpoint.Socket.ReceiveTimeout = (int)ReceivePollInterval.TotalMilliseconds;
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        byte[]? buffer = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            buffer ??= ArrayPool<byte>.Shared.Rent(ReceiveBufferLength);
            try
            {
                if (dispatcher.WantsIdle && endpoint.Socket.Available == 0)
                {
                    // Nothing more to handle now: the writes of the requests handled so far go to the store as one batch.
                    dispatcher.Idle();
                }

                var flags = SocketFlags.None;
                EndPoint remote = any;
                int received = endpoint.Socket.ReceiveMessageFrom(buffer.AsSpan(0, ReceiveBufferLength), ref flags, ref remote, out var packetInformation);
                _counters.CountReceived();
                if (packetInformation.Interface != endpoint.InterfaceIndex && packetInformation.Interface != 0)
                {
                    // SO_BINDTODEVICE makes this impossible; checked anyway, because answering elsewhere is an outage.
                    _counters.CountIgnored();
                    Log.ForeignInterface(_logger, packetInformation.Interface, endpoint.Interface);
                    continue;
                }

                if ((flags & SocketFlags.Truncated) != 0)
                {
                    _counters.CountBad(DhcpParseStatus.TruncatedOption);
                    continue;
                }

                var datagram = new ReceivedDatagram(buffer, received, (IPEndPoint)remote, endpoint);
                buffer = null;
                dispatcher.Dispatch(datagram);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
            }
            catch (SocketException ex) when (!cancellationToken.IsCancellationRequested
                && ex.SocketErrorCode is not (SocketError.OperationAborted or SocketError.Interrupted or SocketError.Shutdown or SocketError.NotSocket))
            {
                // ICMP errors from earlier sends (ECONNREFUSED and the like) surface here; keep receiving.
                Log.ReceiveFailed(_logger, endpoint.Interface, ex.SocketErrorCode.ToString());
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                break;
            }
        }

        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        // Writes still deferred must not wait for a receive that will not come.
        dispatcher.Idle();
    }

    /// <summary>Sends a reply out of the endpoint it belongs to (a UDP send does not block; done inline).</summary>
    public void Send(DhcpEndpoint endpoint, ReadOnlySpan<byte> reply, DhcpReply decision)
    {
        var to = decision.DirectTo ?? Resolve(endpoint, decision);
        try
        {
            endpoint.Socket.SendTo(reply, SocketFlags.None, to);
            _counters.CountSent();
        }
        catch (SocketException ex)
        {
            _counters.CountSendFailure();
            Log.SendFailed(_logger, to.ToString(), endpoint.Interface, ex.SocketErrorCode.ToString());
        }
        catch (ObjectDisposedException)
        {
            _counters.CountSendFailure();
        }
    }

    private IPEndPoint Resolve(DhcpEndpoint endpoint, DhcpReply decision)
    {
        var destination = decision.Destination;
        switch (destination.Kind)
        {
            case ReplyDestinationKind.Relay:
                return new IPEndPoint(DhcpServerOptionsValidator.FromUInt32(destination.Address), _options.ServerPort);
            case ReplyDestinationKind.ClientAddress:
                return new IPEndPoint(DhcpServerOptionsValidator.FromUInt32(destination.Address), _options.ClientPort);
            case ReplyDestinationKind.HardwareUnicast:
                // The client has no address yet and did not ask for broadcast: teach the kernel its MAC for yiaddr
                // (as RFC 2131 §4.1 describes), else fall back to broadcast, which every client also accepts.
                if (decision.ClientMac is { } mac && TryAddArpEntry(endpoint, destination.Address, mac))
                {
                    return new IPEndPoint(DhcpServerOptionsValidator.FromUInt32(destination.Address), _options.ClientPort);
                }

                return new IPEndPoint(_options.BroadcastAddress, _options.ClientPort);
            default:
                return new IPEndPoint(_options.BroadcastAddress, _options.ClientPort);
        }
    }

    /// <summary>Adds a complete ARP entry yiaddr → chaddr on the endpoint's interface (ioctl SIOCSARP, as dnsmasq does).</summary>
    private unsafe bool TryAddArpEntry(DhcpEndpoint endpoint, uint address, PhysicalAddress mac)
    {
        byte[] hardware = mac.GetAddressBytes();
        if (hardware.Length != 6 || !_options.BroadcastAddress.Equals(IPAddress.Broadcast))
        {
            return false;
        }

        // struct arpreq { sockaddr arp_pa; sockaddr arp_ha; int arp_flags; sockaddr arp_netmask; char arp_dev[16]; }
        Span<byte> request = stackalloc byte[68];
        request.Clear();
        BitConverter.TryWriteBytes(request[0..2], (ushort)AddressFamily.InterNetwork);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(request[4..8], address);
        BitConverter.TryWriteBytes(request[16..18], (ushort)1); // ARPHRD_ETHER
        hardware.CopyTo(request[18..24]);
        BitConverter.TryWriteBytes(request[32..36], AtfCom);
        Encoding.ASCII.GetBytes(endpoint.Interface, request[52..67]);

        int result;
        fixed (byte* p = request)
        {
            result = Ioctl((int)endpoint.Socket.Handle, SiocSArp, p);
        }

        if (result != 0)
        {
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                Log.ArpFallback(_logger, DhcpServerOptionsValidator.FromUInt32(address).ToString(), endpoint.Interface, Marshal.GetLastPInvokeError());
            }

            return false;
        }

        return true;
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static unsafe partial int Ioctl(int fd, nuint request, byte* argument);

    public void Dispose()
    {
        foreach (var endpoint in Endpoints)
        {
            endpoint.Dispose();
        }
    }
}
