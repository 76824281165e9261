using Pxe.Dhcp.Protocol;
using Pxe.Dhcp.Tests.Infrastructure;

namespace Pxe.Dhcp.Tests;

/// <summary>Every prefix of every golden datagram, and a seeded mutation fuzz over them.</summary>
public class TruncationAndFuzzTests
{
    /// <summary>Iterations of the fuzz loop; <c>PXE_DHCP_FUZZ_ITERATIONS</c> raises it for long runs (bench/dhcp/fuzz.sh).</summary>
    private static readonly int FuzzIterations =
        int.TryParse(Environment.GetEnvironmentVariable("PXE_DHCP_FUZZ_ITERATIONS"), out int n) && n > 0 ? n : 1_000_000;

    private static readonly int FuzzSeed =
        int.TryParse(Environment.GetEnvironmentVariable("PXE_DHCP_FUZZ_SEED"), out int s) ? s : 20261121;

    [Theory]
    [MemberData(nameof(CaptureNames))]
    public void EveryPrefix_BeforeEndOption_IsRejected_AndFromItOn_Parses(string name)
    {
        var bytes = Captures.Load(name);
        int end = EndOfOptions(bytes);
        for (int length = 0; length <= bytes.Length; length++)
        {
            var prefix = bytes.AsSpan(0, length);
            var status = DhcpPacket.TryParse(prefix, out var packet);
            if (length < end)
            {
                Assert.NotEqual(DhcpParseStatus.Ok, status);
                var expected = length < DhcpPacket.OptionsOffset ? DhcpParseStatus.TruncatedHeader : status;
                Assert.Equal(expected, status);
                Assert.True(status is DhcpParseStatus.TruncatedHeader or DhcpParseStatus.TruncatedOption or DhcpParseStatus.MissingEnd, $"{name}[..{length}]: {status}");
            }
            else
            {
                Assert.Equal(DhcpParseStatus.Ok, status);
                Assert.Equal(DhcpParseStatus.Ok, DhcpRequest.TryRead(packet, out _));
            }
        }
    }

    [Fact]
    public void Fuzz_MutatedCaptures_NeverThrow_AndParseWithoutAllocating()
    {
        var seeds = Captures.All.Select(Captures.Load).ToArray();
        var random = new Random(FuzzSeed);
        var buffer = new byte[2048];
        Span<byte> scratch = stackalloc byte[DhcpOptionReader.MaxConcatenatedLength];
        int ok = 0;

        // Warm up once so JIT and static initialisation do not count as allocation.
        RunOne(seeds[0], seeds[0].Length, scratch);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < FuzzIterations; i++)
        {
            int length = Mutate(random, seeds[i % seeds.Length], buffer);
            try
            {
                if (RunOne(buffer, length, scratch))
                {
                    ok++;
                }
            }
            catch (Exception ex)
            {
                Assert.Fail($"iteration {i} (seed {FuzzSeed}) threw {ex}: {Convert.ToHexString(buffer, 0, length)}");
            }
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 64 * 1024, $"parsing {FuzzIterations} datagrams allocated {allocated} bytes");

        // The mutations must exercise both paths: some survive parsing, most do not.
        Assert.InRange(ok, FuzzIterations / 100, FuzzIterations - (FuzzIterations / 100));
    }

    [Fact]
    public void Fuzz_MutatedRequests_ReadAndAnswer_WithBoundedAllocation_AndValidReplies()
    {
        var seeds = Captures.All.Select(Captures.Load).ToArray();
        var random = new Random(FuzzSeed + 1);
        var buffer = new byte[2048];
        var reply = new byte[1472];
        var plan = new ReplyPlan
        {
            MessageType = DhcpMessageType.Offer,
            YourAddress = 0x0A000064,
            NextServer = 0x0A000001,
            ServerIdentifier = 0x0A000001,
            LeaseSeconds = 3600,
            PrefixLength = 24,
            Router = 0x0A000001,
            DnsServers = [0x0A000001],
            BootFile = "undionly.kpxe",
        };
        int iterations = Math.Max(FuzzIterations / 10, 1000);
        int answered = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < iterations; i++)
        {
            int length = Mutate(random, seeds[i % seeds.Length], buffer);
            if (DhcpPacket.TryParse(buffer.AsSpan(0, length), out var packet) != DhcpParseStatus.Ok
                || DhcpRequest.TryRead(packet, out var request) != DhcpParseStatus.Ok)
            {
                continue;
            }

            // Invariant: any request we accept gets a reply that parses back with its xid and chaddr.
            Assert.Equal(DhcpWriteStatus.Ok, ReplyBuilder.Write(reply, request!, plan, out int written));
            Assert.Equal(DhcpParseStatus.Ok, DhcpPacket.TryParse(reply.AsSpan(0, written), out var parsed));
            Assert.Equal(request!.TransactionId, parsed.TransactionId);
            Assert.True(parsed.ClientHardwareAddressField.SequenceEqual(request.ClientHardwareAddressField));
            answered++;
        }

        long perRequest = (GC.GetAllocatedBytesForCurrentThread() - before) / Math.Max(answered, 1);
        Assert.True(answered > iterations / 100, $"only {answered} of {iterations} mutated requests parsed");
        Assert.True(perRequest < 4096, $"reading a request allocated {perRequest} bytes on average");
    }

    private static bool RunOne(ReadOnlySpan<byte> datagram, int length, Span<byte> scratch)
    {
        if (DhcpPacket.TryParse(datagram[..length], out var packet) != DhcpParseStatus.Ok)
        {
            return false;
        }

        int total = 0;
        foreach (var option in packet.GetOptions())
        {
            total += option.Value.Length;
            if (option.Code is DhcpOptionCode.VendorSpecificInformation or DhcpOptionCode.IpxeEncapsulated or DhcpOptionCode.RelayAgentInformation)
            {
                DhcpOptionCodecs.TryFindSubOption(option.Value, 71, out _);
            }
        }

        DhcpOptionReader.TryGet(packet, DhcpOptionCode.VendorClassIdentifier, scratch, out var vendor);
        DhcpOptionReader.TryGet(packet, DhcpOptionCode.UserClass, scratch[512..], out var user);
        DhcpOptionReader.TryGet(packet, DhcpOptionCode.ClientSystemArchitecture, scratch[768..], out var arch);
        var firmware = ClientClassifier.Classify(vendor, user, arch, DhcpOptionReader.Contains(packet, DhcpOptionCode.IpxeEncapsulated));
        if (DhcpOptionReader.TryGet(packet, DhcpOptionCode.ClientMachineIdentifier, scratch, out var guid) == DhcpOptionLookup.Found)
        {
            DhcpOptionCodecs.TryReadMachineIdentifier(guid, out _);
        }

        return total >= 0 && firmware.Architecture >= 0;
    }

    /// <summary>One to four mutations: byte flips, length-byte rewrites, truncation, insertion, deletion, overload injection.</summary>
    private static int Mutate(Random random, byte[] seed, byte[] buffer)
    {
        seed.CopyTo(buffer, 0);
        int length = seed.Length;
        int count = random.Next(1, 5);
        for (int m = 0; m < count; m++)
        {
            switch (random.Next(7))
            {
                case 0:
                    buffer[random.Next(length)] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    // Hit the options area, where lengths live.
                    buffer[DhcpPacket.OptionsOffset + random.Next(Math.Max(1, length - DhcpPacket.OptionsOffset))] = (byte)random.Next(256);
                    break;
                case 2:
                    length = random.Next(length + 1);
                    break;
                case 3:
                    if (length < buffer.Length - 8)
                    {
                        int at = random.Next(length + 1);
                        int n = random.Next(1, 8);
                        Array.Copy(buffer, at, buffer, at + n, length - at);
                        for (int i = 0; i < n; i++)
                        {
                            buffer[at + i] = (byte)random.Next(256);
                        }

                        length += n;
                    }

                    break;
                case 4:
                    if (length > 1)
                    {
                        int at = random.Next(length);
                        int n = Math.Min(random.Next(1, 8), length - at);
                        Array.Copy(buffer, at + n, buffer, at, length - at - n);
                        length -= n;
                    }

                    break;
                case 5:
                    if (length > DhcpPacket.OptionsOffset + 3)
                    {
                        buffer[DhcpPacket.OptionsOffset] = 52;
                        buffer[DhcpPacket.OptionsOffset + 1] = 1;
                        buffer[DhcpPacket.OptionsOffset + 2] = (byte)random.Next(5);
                    }

                    break;
                default:
                    // Fill sname or file with random TLVs.
                    int field = random.Next(2) == 0 ? DhcpPacket.SnameOffset : DhcpPacket.FileOffset;
                    for (int i = 0; i < 16 && field + i < length; i++)
                    {
                        buffer[field + i] = (byte)random.Next(256);
                    }

                    break;
            }
        }

        return length;
    }

    /// <summary>Index just past the End option of the options field.</summary>
    private static int EndOfOptions(byte[] bytes)
    {
        int i = DhcpPacket.OptionsOffset;
        while (bytes[i] != 255)
        {
            i += bytes[i] == 0 ? 1 : 2 + bytes[i + 1];
        }

        return i + 1;
    }

    public static TheoryData<string> CaptureNames() => Captures.Names();
}
