using System.Buffers.Binary;

namespace Pxe.Dhcp.Ipv6;

/// <summary>
/// The ICMPv6 messages of "fast iPXE" (RFC 4861): recognising a Router Solicitation, and writing the Router
/// Advertisement that ends iPXE's wait for IPv6: router lifetime 0 (not a default router), no prefix, M = O = 0,
/// so no host configures anything from it. iPXE waits for all its configurators after DHCP; without any
/// advertisement its IPv6 one gives up only after about 13 s. Pure: no sockets.
/// </summary>
public static class RouterAdvertisement
{
    /// <summary>ICMPv6 type of a Router Solicitation.</summary>
    public const byte SolicitationType = 133;

    /// <summary>ICMPv6 type of a Router Advertisement.</summary>
    public const byte AdvertisementType = 134;

    /// <summary>Bytes written by <see cref="Write"/>: the 16-byte header and the source link-layer address option.</summary>
    public const int Length = 24;

    /// <summary>RFC 4861 §10 MAX_RA_DELAY_TIME: an answer to a solicitation waits a random time up to this.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>RFC 4861 §10 MIN_DELAY_BETWEEN_RAS: multicast advertisements are at least this far apart.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(3);

    /// <summary>True when <paramref name="icmp"/> (an ICMPv6 message, without the IPv6 header) is a valid-looking Router Solicitation.</summary>
    public static bool IsSolicitation(ReadOnlySpan<byte> icmp) =>
        icmp.Length >= 8 && icmp[0] == SolicitationType && icmp[1] == 0;

    /// <summary>
    /// Writes the advertisement into <paramref name="destination"/> (at least <see cref="Length"/> bytes) and returns
    /// its length. The checksum is left 0: the kernel fills it for ICMPv6 raw sockets (RFC 3542 §3.1).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="mac"/> is not 6 bytes or the destination is too small.</exception>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> mac)
    {
        if (mac.Length != 6)
        {
            throw new ArgumentException("a MAC address has 6 bytes", nameof(mac));
        }

        if (destination.Length < Length)
        {
            throw new ArgumentException($"the advertisement needs {Length} bytes", nameof(destination));
        }

        var ra = destination[..Length];
        ra.Clear();
        ra[0] = AdvertisementType;                              // code 0, checksum 0 (kernel)
        ra[4] = 0;                                              // current hop limit: unspecified
        ra[5] = 0;                                              // M = 0, O = 0
        BinaryPrimitives.WriteUInt16BigEndian(ra[6..], 0);      // router lifetime 0: not a default router
        // reachable time and retrans timer 0: unspecified
        ra[16] = 1;                                             // option: source link-layer address
        ra[17] = 1;                                             // length in units of 8 bytes
        mac.CopyTo(ra[18..]);
        return Length;
    }

    /// <summary>
    /// When to answer a solicitation seen at <paramref name="now"/> (RFC 4861 §6.2.6): after a random delay up to
    /// <see cref="MaxDelay"/> (<paramref name="random"/> in [0, 1)), and not sooner than <see cref="MinInterval"/>
    /// after the last multicast advertisement.
    /// </summary>
    public static DateTimeOffset AnswerAt(DateTimeOffset now, DateTimeOffset? lastSent, double random)
    {
        var at = now + (MaxDelay * Math.Clamp(random, 0, 1));
        return lastSent is { } last && at < last + MinInterval ? last + MinInterval : at;
    }
}
