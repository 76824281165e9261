using Pxe.Tftp.Protocol;

namespace Pxe.Tftp.Tests.Support;

/// <summary>
/// A deterministic discrete-event run of one <see cref="TftpReadTransfer"/> against a <see cref="SimulatedClient"/>
/// over a link that drops, duplicates and delays (so reorders) datagrams, driven by a seeded random source.
/// </summary>
internal sealed class TransferSimulation
{
    private readonly PriorityQueue<(bool ToServer, byte[] Datagram), (TimeSpan Arrival, long Sequence)> _inFlight = new();
    private long _sequence;
    private readonly Random _random;
    private readonly double _drop;
    private readonly double _duplicate;
    private readonly TimeSpan _maxDelay;

    public TransferSimulation(int seed, double drop, double duplicate, TimeSpan maxDelay)
    {
        _random = new Random(seed);
        _drop = drop;
        _duplicate = duplicate;
        _maxDelay = maxDelay;
    }

    public long ServerDataSends { get; private set; }

    public TftpStep FinalStep { get; private set; }

    public SimulatedClient? Client { get; private set; }

    /// <summary>Runs until the server's transfer ends (or the time limit); returns the simulated duration.</summary>
    public TimeSpan Run(byte[] content, int blockSize, int windowSize, bool oack, TimeSpan serverTimeout, int retryLimit, TimeSpan limit)
    {
        var server = new TftpReadTransfer(content.Length, blockSize, windowSize, serverTimeout, retryLimit, oack);
        var client = new SimulatedClient(blockSize, windowSize, oack);
        Client = client;
        var clientTimeout = serverTimeout * 3;
        var now = TimeSpan.Zero;
        var clientDeadline = clientTimeout;
        Execute(server, server.Start(now), content, now);
        while (!server.IsFinished && now < limit)
        {
            var next = server.Deadline;
            if (clientDeadline < next)
            {
                next = clientDeadline;
            }

            if (_inFlight.TryPeek(out _, out var priority) && priority.Arrival <= next)
            {
                var (toServer, datagram) = _inFlight.Dequeue();
                now = priority.Arrival;
                if (toServer)
                {
                    Execute(server, server.OnPacket(datagram, now), content, now);
                }
                else
                {
                    foreach (var reply in client.OnDatagram(datagram))
                    {
                        Send(reply, toServer: true, now);
                    }

                    clientDeadline = now + clientTimeout;
                }

                continue;
            }

            now = next;
            if (now == server.Deadline)
            {
                Execute(server, server.OnTimeout(now), content, now);
            }

            if (now >= clientDeadline)
            {
                Send(client.OnTimeout(), toServer: true, now);
                clientDeadline = now + clientTimeout;
            }
        }

        return now;
    }

    private void Execute(TftpReadTransfer server, TftpStep step, byte[] content, TimeSpan now)
    {
        switch (step.Kind)
        {
            case TftpStepKind.SendOptionAcknowledgement:
                Send(TftpPacketWriter.BuildOptionAcknowledgement([new("blksize", "x")]), toServer: false, now);
                break;
            case TftpStepKind.SendBlocks:
                for (var block = step.FirstBlock; block <= step.LastBlock; block++)
                {
                    var (offset, length) = server.GetBlockRange(block);
                    var datagram = new byte[4 + length];
                    TftpPacketWriter.WriteDataHeader(datagram, TftpReadTransfer.WireBlock(block));
                    content.AsSpan((int)offset, length).CopyTo(datagram.AsSpan(4));
                    ServerDataSends++;
                    Send(datagram, toServer: false, now);
                }

                break;
        }

        if (step.IsFinal)
        {
            FinalStep = step;
        }
    }

    private void Send(byte[] datagram, bool toServer, TimeSpan now)
    {
        if (_random.NextDouble() < _drop)
        {
            return;
        }

        var copies = _random.NextDouble() < _duplicate ? 2 : 1;
        for (var i = 0; i < copies; i++)
        {
            var delay = TimeSpan.FromTicks((long)(_random.NextDouble() * _maxDelay.Ticks)) + TimeSpan.FromMicroseconds(50);
            _inFlight.Enqueue((toServer, datagram), (now + delay, _sequence++));
        }
    }
}
