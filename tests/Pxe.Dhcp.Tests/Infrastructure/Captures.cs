namespace Pxe.Dhcp.Tests.Infrastructure;

/// <summary>Golden datagrams stored as hex under Captures/ ('#' starts a comment line).</summary>
internal static class Captures
{
    public static readonly string[] All =
    [
        "f1-ipxe-bios-discover.hex",
        "f1-ipxe-bios-request.hex",
        "f2-ovmf-pxe-discover.hex",
        "f2-ovmf-pxe-request.hex",
        "f8-debian-installer-discover.hex",
        "f8-udhcpc-discover.hex",
        "dhclient-discover.hex",
    ];

    public static byte[] Load(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Captures", name);
        var hex = string.Concat(File.ReadAllLines(path)
            .Where(l => !l.TrimStart().StartsWith('#'))
            .Select(l => l.Trim()));
        return Convert.FromHexString(hex);
    }

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var name in All)
        {
            data.Add(name);
        }

        return data;
    }
}
