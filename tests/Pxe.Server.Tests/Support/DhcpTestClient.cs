using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Pxe.Server.Tests.Support;

/// <summary>
/// A minimal DHCP client for loopback tests of `pxe serve`: DISCOVER, then REQUEST what was offered, and report the
/// ACKed address. Replies come back to one shared client port and are told apart by transaction id.
/// </summary>
internal sealed class DhcpTestClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly IPEndPoint _server;
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<byte[]>> _waiting = new();
    private readonly CancellationTokenSource _stop = new();
    private int _xid = Random.Shared.Next();

    public DhcpTestClient(int clientPort, int serverPort)
    {
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, clientPort));
        _server = new IPEndPoint(IPAddress.Loopback, serverPort);
        _ = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>A full DORA for <paramref name="mac"/>; the ACKed address, or null when the server did not complete it.</summary>
    public async Task<IPAddress?> ObtainAsync(byte[] mac, TimeSpan timeout, CancellationToken ct)
    {
        var xid = (uint)Interlocked.Increment(ref _xid);
        var offer = await ExchangeAsync(Build(1, xid, mac, null, null), xid, timeout, ct);
        if (offer is null || MessageType(offer) != 2)
        {
            return null;
        }

        var offered = new IPAddress(offer.AsSpan(16, 4));
        var serverId = Option(offer, 54) ?? [127, 0, 0, 1];
        var ack = await ExchangeAsync(Build(3, xid, mac, offered, new IPAddress(serverId)), xid, timeout, ct);
        return ack is not null && MessageType(ack) == 5 ? new IPAddress(ack.AsSpan(16, 4)) : null;
    }

    private async Task<byte[]?> ExchangeAsync(byte[] request, uint xid, TimeSpan timeout, CancellationToken ct)
    {
        var tcs = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[xid] = tcs;
        try
        {
            await _socket.SendToAsync(request, _server, ct);
            return await tcs.Task.WaitAsync(timeout, ct);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            _waiting.TryRemove(xid, out _);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[1500];
        while (!_stop.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (n >= 240 && buffer[0] == 2 && _waiting.TryGetValue(BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(4)), out var tcs))
            {
                tcs.TrySetResult(buffer[..n]);
            }
        }
    }

    /// <summary>A BOOTP request with the broadcast flag, client identifier 61, and for REQUEST options 50 and 54.</summary>
    private static byte[] Build(byte type, uint xid, byte[] mac, IPAddress? requested, IPAddress? serverId)
    {
        var p = new List<byte>(new byte[236]);
        p[0] = 1;
        p[1] = 1;
        p[2] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(p).Slice(4, 4), xid);
        p[10] = 0x80;
        for (var i = 0; i < 6; i++)
        {
            p[28 + i] = mac[i];
        }

        p.AddRange([99, 130, 83, 99, 53, 1, type, 61, 7, 1, .. mac, 55, 3, 1, 3, 6]);
        if (requested is not null)
        {
            p.AddRange([50, 4, .. requested.GetAddressBytes()]);
        }

        if (serverId is not null)
        {
            p.AddRange([54, 4, .. serverId.GetAddressBytes()]);
        }

        p.Add(255);
        while (p.Count < 300)
        {
            p.Add(0);
        }

        return [.. p];
    }

    private static int MessageType(byte[] packet) => Option(packet, 53) is [var t] ? t : 0;

    private static byte[]? Option(byte[] packet, byte code)
    {
        for (var i = 240; i + 1 < packet.Length;)
        {
            var c = packet[i];
            if (c == 255)
            {
                break;
            }

            if (c == 0)
            {
                i++;
                continue;
            }

            var len = packet[i + 1];
            if (i + 2 + len > packet.Length)
            {
                break;
            }

            if (c == code)
            {
                return packet.AsSpan(i + 2, len).ToArray();
            }

            i += 2 + len;
        }

        return null;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
    }
}
