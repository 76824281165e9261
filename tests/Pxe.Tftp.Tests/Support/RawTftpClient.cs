using System.Net;
using System.Net.Sockets;
using Pxe.Tftp.Protocol;

namespace Pxe.Tftp.Tests.Support;

/// <summary>A UDP socket that speaks TFTP byte by byte, for protocol tests against the real server.</summary>
internal sealed class RawTftpClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly IPEndPoint _server;

    public RawTftpClient(IPEndPoint server)
    {
        _server = server;
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public void Send(byte[] datagram, IPEndPoint? to = null) => _socket.SendTo(datagram, to ?? _server);

    public void SendRequest(string file, string mode = "octet", params TftpOption[] options) =>
        Send(TftpPacketWriter.BuildRequest(TftpOpcode.ReadRequest, file, mode, options));

    public void SendAck(IPEndPoint to, ushort block) => Send([0, 4, (byte)(block >> 8), (byte)block], to);

    /// <summary>The next datagram, or null after the timeout.</summary>
    public async Task<(byte[] Datagram, IPEndPoint From)?> ReceiveAsync(TimeSpan timeout)
    {
        var buffer = new byte[70000];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            return (buffer[..result.ReceivedBytes], (IPEndPoint)result.RemoteEndPoint);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async Task<(byte[] Datagram, IPEndPoint From)> ExpectAsync(TimeSpan? timeout = null) =>
        await ReceiveAsync(timeout ?? TimeSpan.FromSeconds(5)) ?? throw new TimeoutException("No datagram from the server.");

    /// <summary>Downloads with lock-step or windowed ACKs; returns the content and the server's TID.</summary>
    public async Task<(byte[] Content, IPEndPoint Tid)> DownloadAsync(string file, int blockSize = 512, int windowSize = 1, params TftpOption[] options)
    {
        SendRequest(file, "octet", options);
        var content = new MemoryStream();
        ushort expected = 1;
        var inWindow = 0;
        while (true)
        {
            var (datagram, from) = await ExpectAsync();
            var status = TftpPacket.TryParse(datagram, out var packet);
            Assert.Equal(TftpParseStatus.Ok, status);
            if (packet.Opcode == TftpOpcode.OptionAcknowledgement)
            {
                SendAck(from, 0);
                continue;
            }

            Assert.Equal(TftpOpcode.Data, packet.Opcode);
            if ((ushort)(expected - packet.Block) is > 0 and < 32768)
            {
                // A retransmission of a block already received (the server's timer fired first): ignore it.
                continue;
            }

            Assert.Equal(expected, packet.Block);
            content.Write(packet.Body);
            expected++;
            inWindow++;
            var last = packet.Body.Length < blockSize;
            if (last || inWindow == windowSize)
            {
                SendAck(from, packet.Block);
                inWindow = 0;
            }

            if (last)
            {
                return (content.ToArray(), from);
            }
        }
    }

    public static (TftpErrorCode Code, string Message) ParseError(byte[] datagram)
    {
        Assert.Equal(TftpParseStatus.Ok, TftpPacket.TryParse(datagram, out var packet));
        Assert.Equal(TftpOpcode.Error, packet.Opcode);
        Assert.Equal(0, datagram[^1]);
        return (packet.ErrorCode, System.Text.Encoding.ASCII.GetString(packet.Body));
    }

    public void Dispose() => _socket.Dispose();
}
