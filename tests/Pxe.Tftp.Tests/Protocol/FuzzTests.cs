using System.Globalization;
using Pxe.Tftp.Protocol;

namespace Pxe.Tftp.Tests.Protocol;

/// <summary>
/// Seeded mutation fuzzing of the parser, the negotiation and the transfer state machine. The seed and count are
/// fixed (reproducible); <c>TFTP_FUZZ_ITERATIONS</c> and <c>TFTP_FUZZ_SEED</c> run a longer or different campaign
/// (bench/tftp/fuzz.sh).
/// </summary>
public class FuzzTests
{
    // Datagrams as real clients send them (FIRMWARE.md F2, F6, F7) plus ACK/ERROR/DATA shapes.
    private static readonly byte[][] Corpus =
    [
        [0, 1, .. "ipxe.efi\0octet\0tsize\00\0blksize\01468\0windowsize\04\0"u8],
        [0, 1, .. "ipxe.efi\0octet\0blksize\01468\0windowsize\04\0"u8],
        [0, 1, .. "pxelinux.0\0octet\0blksize\01432\0tsize\00\0"u8],
        [0, 1, .. "pxelinux.cfg/01-52-54-00-d1-00-0b\0octet\0tsize\00\0blksize\01408\0"u8],
        [0, 1, .. "/grub/mac/52:54:00:d1:00:2c.cfg\0octet\0blksize\01024\0tsize\00\0"u8],
        [0, 1, .. "text.txt\0netascii\0timeout\05\0"u8],
        [0, 2, .. "upload.bin\0octet\0"u8],
        [0, 4, 0, 0],
        [0, 4, 0, 1],
        [0, 4, 0xFF, 0xFF],
        [0, 5, 0, 8, .. "User aborted the transfer\0"u8],
        [0, 3, 0, 1, 1, 2, 3],
        [0, 6, .. "blksize\01468\0"u8],
    ];

    private static int Iterations => int.TryParse(Environment.GetEnvironmentVariable("TFTP_FUZZ_ITERATIONS"), CultureInfo.InvariantCulture, out var n) ? n : 1_000_000;

    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("TFTP_FUZZ_SEED"), CultureInfo.InvariantCulture, out var s) ? s : 20240515;

    /// <summary>Flips, inserts, deletes, duplicates bytes and splices corpus entries.</summary>
    internal static byte[] Mutate(Random random, byte[][] corpus)
    {
        var data = new List<byte>(corpus[random.Next(corpus.Length)]);
        var mutations = random.Next(1, 6);
        for (var m = 0; m < mutations; m++)
        {
            switch (random.Next(7))
            {
                case 0 when data.Count > 0:
                    data[random.Next(data.Count)] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    data.Insert(random.Next(data.Count + 1), (byte)random.Next(256));
                    break;
                case 2 when data.Count > 0:
                    data.RemoveAt(random.Next(data.Count));
                    break;
                case 3 when data.Count > 0:
                    data[random.Next(data.Count)] = random.Next(4) switch { 0 => 0, 1 => (byte)'.', 2 => (byte)'/', _ => 0xFF };
                    break;
                case 4 when data.Count > 0:
                    var start = random.Next(data.Count);
                    data.RemoveRange(start, random.Next(1, Math.Min(8, data.Count - start) + 1));
                    break;
                case 5:
                    var other = corpus[random.Next(corpus.Length)];
                    data.AddRange(other.Skip(random.Next(other.Length)));
                    break;
                case 6 when data.Count > 0:
                    var at = random.Next(data.Count);
                    data.InsertRange(at, data.Skip(at).Take(random.Next(1, 16)).ToList());
                    break;
            }
        }

        return [.. data];
    }

    [Fact]
    public void Parser_MutatedDatagrams_NeverThrowAndParsedRequestsRoundTrip()
    {
        var random = new Random(Seed);
        var limits = new TftpNegotiationLimits(1468, 64, TimeSpan.FromSeconds(1));
        for (var i = 0; i < Iterations; i++)
        {
            var datagram = Mutate(random, Corpus);
            var status = TftpPacket.TryParse(datagram, out var packet);
            if (status != TftpParseStatus.Ok)
            {
                continue;
            }

            if (packet.Opcode is TftpOpcode.Data)
            {
                Assert.Equal(datagram.Length - 4, packet.Body.Length);
            }

            if (packet.Opcode is not (TftpOpcode.ReadRequest or TftpOpcode.WriteRequest))
            {
                continue;
            }

            if (TftpRequest.TryParse(packet.Opcode, packet.Body, out var request) != TftpParseStatus.Ok)
            {
                continue;
            }

            // Round trip: what was parsed serialises back to a request that parses to the same value.
            var rebuilt = TftpPacketWriter.BuildRequest(request!.Opcode, request.FileName, request.Mode, request.Options);
            Assert.Equal(TftpParseStatus.Ok, TftpPacket.TryParse(rebuilt, out var again));
            Assert.Equal(TftpParseStatus.Ok, TftpRequest.TryParse(again.Opcode, again.Body, out var reparsed));
            Assert.Equal(request.FileName, reparsed!.FileName);
            Assert.Equal(request.Mode, reparsed.Mode);
            Assert.Equal(request.Options, reparsed.Options);

            // Negotiation stays inside the RFC and the server's limits.
            var negotiation = TftpNegotiator.Negotiate(request.Options, limits, 12345);
            if (!negotiation.Refused)
            {
                Assert.InRange(negotiation.BlockSize, TftpNegotiator.MinBlockSize, 1468);
                Assert.InRange(negotiation.WindowSize, 1, 64);
                Assert.InRange(negotiation.Timeout, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(255));
                var oack = TftpPacketWriter.BuildOptionAcknowledgement(negotiation.Acknowledged);
                Assert.Equal(TftpParseStatus.Ok, TftpPacket.TryParse(oack, out var oackPacket));
                Assert.Equal(TftpOpcode.OptionAcknowledgement, oackPacket.Opcode);
            }

            // Path normalisation never yields an escaping or odd path.
            if (TftpPath.TryNormalize(request.FileName, 255, out var path) == TftpPathStatus.Ok)
            {
                Assert.DoesNotContain(path.Split('/'), s => s is ".." or "." or "");
                Assert.False(path.StartsWith('/'));
                Assert.DoesNotContain('\\', path);
                Assert.DoesNotContain('\0', path);
            }
        }
    }

    [Fact]
    public void StateMachine_MutatedAcksAndErrors_KeepEveryStepWellFormed()
    {
        var random = new Random(Seed + 1);
        var perTransfer = 200;
        for (var t = 0; t < Iterations / perTransfer; t++)
        {
            var length = random.Next(4) switch { 0 => 0, 1 => random.Next(1, 5000), 2 => random.Next(100_000), _ => (65536 * 512) + random.Next(5000) };
            var blockSize = random.Next(3) switch { 0 => 512, 1 => 1468, _ => random.Next(8, 9000) };
            var window = random.Next(3) switch { 0 => 1, 1 => 4, _ => random.Next(1, 65) };
            var transfer = new TftpReadTransfer(length, blockSize, window, TimeSpan.FromSeconds(1), 3, sendOack: random.Next(2) == 0);
            var now = TimeSpan.Zero;
            var step = transfer.Start(now);
            var highestSent = 0L;
            for (var i = 0; i < perTransfer && !transfer.IsFinished; i++)
            {
                Check(step);
                now += TimeSpan.FromMilliseconds(random.Next(0, 1500));
                if (random.Next(4) == 0)
                {
                    step = transfer.OnTimeout(now);
                }
                else
                {
                    byte[] datagram = random.Next(3) == 0
                        ? Mutate(random, Corpus)
                        : [0, 4, .. BitConverter.GetBytes((ushort)(highestSent - random.Next(0, window + 2))).Reverse()];
                    step = transfer.OnPacket(datagram, now);
                }
            }

            Check(step);

            void Check(TftpStep s)
            {
                if (s.Kind == TftpStepKind.SendBlocks)
                {
                    Assert.InRange(s.FirstBlock, transfer.LastAcknowledged + 1, transfer.LastBlock);
                    Assert.InRange(s.LastBlock, s.FirstBlock, Math.Min(transfer.LastBlock, s.FirstBlock + window - 1));
                    for (var b = s.FirstBlock; b <= s.LastBlock; b++)
                    {
                        var (offset, size) = transfer.GetBlockRange(b);
                        Assert.InRange(offset, 0, length);
                        Assert.InRange(size, 0, blockSize);
                        Assert.True(offset + size <= length);
                        Assert.True(b == transfer.LastBlock ? size < blockSize : size == blockSize);
                    }

                    highestSent = Math.Max(highestSent, s.LastBlock);
                }

                Assert.Equal(s.IsFinal, transfer.IsFinished && s.Kind != TftpStepKind.Ignored && s.Kind != TftpStepKind.Wait);
                if (!transfer.IsFinished)
                {
                    Assert.True(transfer.Deadline > now || s.Kind is TftpStepKind.Wait or TftpStepKind.Ignored);
                }
            }
        }
    }
}
