using System.Globalization;

namespace Pxe.Tftp.Protocol;

/// <summary>The server's limits that option negotiation applies.</summary>
/// <param name="MaxBlockSize">Largest blksize the server grants (already reduced to the interface MTU when known).</param>
/// <param name="MaxWindowSize">Largest windowsize the server grants.</param>
/// <param name="DefaultTimeout">Retransmission timeout when the client does not ask for one.</param>
internal readonly record struct TftpNegotiationLimits(int MaxBlockSize, int MaxWindowSize, TimeSpan DefaultTimeout);

/// <summary>The parameters of one transfer after negotiation.</summary>
internal sealed record TftpNegotiation
{
    /// <summary>The option a client asked for had a value the RFC does not allow: answer ERROR 8.</summary>
    public bool Refused { get; init; }

    /// <summary>Name of the refused option, for the log.</summary>
    public string? RefusedOption { get; init; }

    /// <summary>Bytes per DATA block (512 without the option: RFC 1350 §2).</summary>
    public int BlockSize { get; init; } = TftpNegotiator.DefaultBlockSize;

    /// <summary>Blocks sent before waiting for an ACK (1 without the option: RFC 7440 §1).</summary>
    public int WindowSize { get; init; } = 1;

    /// <summary>Retransmission timeout.</summary>
    public TimeSpan Timeout { get; init; }

    /// <summary>Options to acknowledge in the OACK, in the client's order and spelling; empty means no OACK.</summary>
    public IReadOnlyList<TftpOption> Acknowledged { get; init; } = [];
}

/// <summary>RFC 2347 option negotiation for a read request. Pure: request options, limits and file size in; decision out.</summary>
internal static class TftpNegotiator
{
    /// <summary>RFC 1350 §2: data blocks are 512 bytes unless blksize says otherwise.</summary>
    public const int DefaultBlockSize = 512;

    /// <summary>RFC 2348: "valid values range between 8 and 65464 octets, inclusive".</summary>
    public const int MinBlockSize = 8;

    /// <summary>RFC 2348: the largest blksize a client may ask for.</summary>
    public const int MaxBlockSize = 65464;

    /// <summary>RFC 7440 §3: windowsize is 1–65535.</summary>
    public const int MaxWindowSizeRfc = 65535;

    /// <summary>
    /// Negotiates. Rules:
    /// RFC 2347 §2: unknown options are ignored; options the server accepts are echoed in an OACK.
    /// RFC 2348: blksize below 8 is refused; above the server's limit it is lowered to the limit.
    /// RFC 2349 §1: timeout must be 1–255 seconds and is echoed unchanged; tsize in an RRQ is answered with the size.
    /// RFC 7440 §3: windowsize below 1 is refused; above the server's limit it is lowered.
    /// A known option whose value is not a decimal number is refused with ERROR 8 (RFC 2347 §2).
    /// A repeated option counts once (the first).
    /// </summary>
    public static TftpNegotiation Negotiate(IReadOnlyList<TftpOption> requested, TftpNegotiationLimits limits, long transferSize)
    {
        var blockSize = DefaultBlockSize;
        var windowSize = 1;
        var timeout = limits.DefaultTimeout;
        var acknowledged = new List<TftpOption>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        foreach (var option in requested)
        {
            var name = option.Name.ToLowerInvariant();
            if (name is not ("blksize" or "timeout" or "tsize" or "windowsize") || !seen.Add(name))
            {
                continue;
            }

            if (!TryParseDecimal(option.Value, out var value))
            {
                return Refuse(option.Name);
            }

            switch (name)
            {
                case "blksize":
                    if (value < MinBlockSize)
                    {
                        return Refuse(option.Name);
                    }

                    blockSize = (int)Math.Min(value, Math.Min(MaxBlockSize, limits.MaxBlockSize));
                    acknowledged.Add(option with { Value = Format(blockSize) });
                    break;

                case "timeout":
                    if (value is < 1 or > 255)
                    {
                        return Refuse(option.Name);
                    }

                    timeout = TimeSpan.FromSeconds(value);
                    acknowledged.Add(option with { Value = Format(value) });
                    break;

                case "tsize":
                    acknowledged.Add(option with { Value = Format(transferSize) });
                    break;

                case "windowsize":
                    if (value < 1)
                    {
                        return Refuse(option.Name);
                    }

                    windowSize = (int)Math.Min(value, Math.Min(MaxWindowSizeRfc, limits.MaxWindowSize));
                    acknowledged.Add(option with { Value = Format(windowSize) });
                    break;
            }
        }

        return new TftpNegotiation
        {
            BlockSize = blockSize,
            WindowSize = windowSize,
            Timeout = timeout,
            Acknowledged = acknowledged,
        };
    }

    /// <summary>
    /// The largest blksize whose DATA packet fits one unfragmented IP datagram on a link with this MTU:
    /// MTU − IP header (20 for IPv4, 40 for IPv6) − UDP 8 − TFTP 4. Ethernet 1500 gives 1468 over IPv4.
    /// </summary>
    public static int BlockSizeForMtu(int mtu, bool ipv6) => mtu - (ipv6 ? 40 : 20) - 8 - TftpPacketWriter.HeaderSize;

    private static TftpNegotiation Refuse(string option) => new() { Refused = true, RefusedOption = option };

    private static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static bool TryParseDecimal(string text, out long value)
    {
        value = 0;
        if (text.Length is 0 or > 18)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }
}
