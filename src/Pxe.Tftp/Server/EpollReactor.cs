using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Pxe.Tftp.Server;

/// <summary>
/// The receive side of transfer sockets on Linux: one thread per reactor waits in <c>epoll_wait</c> on every
/// transfer socket it owns and handles each ACK on the spot (receive, state machine, send), without a hop to
/// the thread pool. A lock-step transfer is bound by round-trip latency, so one wake-up per ACK instead of two
/// is what makes it as fast as a process blocked in <c>recvfrom</c> (tftpd-hpa).
/// </summary>
internal sealed partial class EpollReactor : IDisposable
{
    private const int EpollCloexec = 0x80000;
    private const int EpollCtlAdd = 1;
    private const uint EpollIn = 0x001;
    private const int MaxEvents = 64;
    private const int EIntr = 4;

    /// <summary>How long the reactor keeps polling after its last datagram before it sleeps in epoll_wait.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;

    /// <summary>100 µs: longer than a loopback or LAN round trip of an ACK (30–90 µs measured on veth), far shorter than any timeout.</summary>
    private const long SpinMicroseconds = 100;

    private static readonly bool PackedEvent = RuntimeInformation.ProcessArchitecture == Architecture.X64;
    private static readonly int EventSize = PackedEvent ? 12 : 16;
    private static readonly int DataOffset = PackedEvent ? 4 : 8;

    private readonly int _epoll;
    private readonly ConcurrentDictionary<long, TransferSession> _sessions = new();
    private readonly Thread _thread;
    private readonly ILogger _logger;
    private volatile bool _stopping;
    private long _nextId;

    public EpollReactor(string name, ILogger logger)
    {
        _logger = logger;
        _epoll = EpollCreate1(EpollCloexec);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1 failed with errno {Marshal.GetLastPInvokeError()}.");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>True where the reactor works (Linux).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>Starts delivering the session's datagrams. The registration ends when its socket closes.</summary>
    public long Register(TransferSession session, int fd)
    {
        var id = Interlocked.Increment(ref _nextId);
        _sessions[id] = session;
        Span<byte> ev = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(ev, EpollIn);
        BinaryPrimitives.WriteInt64LittleEndian(ev[DataOffset..], id);
        if (EpollCtl(_epoll, EpollCtlAdd, fd, ev) != 0)
        {
            _sessions.TryRemove(id, out _);
            throw new IOException($"epoll_ctl failed with errno {Marshal.GetLastPInvokeError()}.");
        }

        return id;
    }

    /// <summary>Forgets a session (its socket is closed, which also removed it from the epoll set).</summary>
    public void Unregister(long id) => _sessions.TryRemove(id, out _);

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
        Close(_epoll);
    }

    private void Run()
    {
        var events = new byte[MaxEvents * EventSize];
        var spinUntil = 0L;
        while (!_stopping)
        {
            // After handling a datagram the reactor polls (timeout 0) for a short while before it sleeps: in
            // lock-step and windowed transfers the next ACK usually comes back within a round trip, and catching
            // it without a sleep/wake-up cycle takes that scheduler latency out of every block.
            var spinning = Stopwatch.GetTimestamp() < spinUntil;
            var count = EpollWait(_epoll, events, MaxEvents, spinning ? 0 : 50);
            if (count < 0)
            {
                if (Marshal.GetLastPInvokeError() == EIntr)
                {
                    continue;
                }

                throw new IOException($"epoll_wait failed with errno {Marshal.GetLastPInvokeError()}.");
            }

            if (count > 0)
            {
                spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
            }

            for (var i = 0; i < count; i++)
            {
                var id = BinaryPrimitives.ReadInt64LittleEndian(events.AsSpan((i * EventSize) + DataOffset));
                if (_sessions.TryGetValue(id, out var session))
                {
                    try
                    {
                        session.OnReadable();
                    }
                    catch (Exception e)
                    {
                        Log.TransferSendFailed(_logger, session.File, session.ClientEndPoint, e);
                        session.Fail();
                    }
                }
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtl(int epfd, int op, int fd, Span<byte> ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int EpollWait(int epfd, byte[] events, int maxEvents, int timeout);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}

/// <summary><c>recvfrom</c> with <c>MSG_DONTWAIT</c> into a span, returning the raw source address.</summary>
internal static partial class NativeUdp
{
    private const int MsgDontWait = 0x40;

    /// <summary>Bytes received; -1 when nothing is waiting; -2 on a socket error.</summary>
    public static int TryReceive(SafeHandle socket, Span<byte> buffer, Span<byte> address, out int addressLength)
    {
        const int EAgain = 11;
        const int EIntr = 4;
        var success = false;
        try
        {
            socket.DangerousAddRef(ref success);
            var length = address.Length;
            var received = RecvFrom((int)socket.DangerousGetHandle(), buffer, (nuint)buffer.Length, MsgDontWait, address, ref length);
            addressLength = length;
            if (received >= 0)
            {
                return (int)received;
            }

            return Marshal.GetLastPInvokeError() is EAgain or EIntr ? -1 : -2;
        }
        catch (ObjectDisposedException)
        {
            addressLength = 0;
            return -1;
        }
        finally
        {
            if (success)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Sends consecutive datagrams to one address with a single <c>sendmmsg</c> call (a window in one system
    /// call). <paramref name="packets"/> holds the datagrams back to back, <paramref name="lengths"/> their sizes.
    /// Returns how many were sent, or -1 on error (the caller treats unsent ones as lost: the timer resends).
    /// </summary>
    public static unsafe int SendBatch(SafeHandle socket, ReadOnlySpan<byte> address, ReadOnlySpan<byte> packets, ReadOnlySpan<int> lengths)
    {
        const int MsgHdrSize = 64;
        const int IovSize = 16;
        var count = lengths.Length;
        var headers = stackalloc byte[MaxBatch * MsgHdrSize];
        var iovecs = stackalloc byte[MaxBatch * IovSize];
        var success = false;
        try
        {
            socket.DangerousAddRef(ref success);
            fixed (byte* data = packets)
            fixed (byte* name = address)
            {
                new Span<byte>(headers, count * MsgHdrSize).Clear();
                var offset = 0;
                for (var i = 0; i < count; i++)
                {
                    var iov = iovecs + (i * IovSize);
                    *(byte**)iov = data + offset;
                    *(nuint*)(iov + 8) = (nuint)lengths[i];
                    var header = headers + (i * MsgHdrSize);
                    *(byte**)header = name;
                    *(uint*)(header + 8) = (uint)address.Length;
                    *(byte**)(header + 16) = iov;
                    *(nuint*)(header + 24) = 1;
                    offset += lengths[i];
                }

                return SendMmsg((int)socket.DangerousGetHandle(), headers, (uint)count, 0);
            }
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
        finally
        {
            if (success)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary>Most datagrams per <see cref="SendBatch"/> call.</summary>
    public const int MaxBatch = 64;

    /// <summary>True where <see cref="SendBatch"/> works: 64-bit Linux (the <c>mmsghdr</c> layout above).</summary>
    public static bool CanSendBatch => OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    [LibraryImport("libc", EntryPoint = "recvfrom", SetLastError = true)]
    private static partial nint RecvFrom(int fd, Span<byte> buffer, nuint length, int flags, Span<byte> address, ref int addressLength);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    private static unsafe partial int SendMmsg(int fd, byte* messages, uint count, int flags);
}
