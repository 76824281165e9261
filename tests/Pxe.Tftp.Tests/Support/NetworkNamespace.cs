namespace Pxe.Tftp.Tests.Support;

/// <summary>
/// A network namespace joined to this one by a veth pair, created for one test and removed on dispose (even
/// after a failure). Addresses come from 10.251.x.0/30 with a random x; nothing is sent anywhere else.
/// </summary>
internal sealed class NetworkNamespace : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);
    private readonly string _ip;

    public NetworkNamespace(int mtu = 1500)
    {
        _ip = Tools.Require("ip");
        Tools.Require("root");
        var id = Random.Shared.Next(0x10000, 0xFFFFF).ToString("x5", System.Globalization.CultureInfo.InvariantCulture);
        var subnet = Random.Shared.Next(1, 254);
        Name = $"pxetftp-{id}";
        HostInterface = $"vpt{id}h";
        PeerInterface = $"vpt{id}p";
        HostAddress = $"10.251.{subnet}.1";
        PeerAddress = $"10.251.{subnet}.2";
        try
        {
            Ip("netns", "add", Name);
            Ip("link", "add", HostInterface, "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture), "type", "veth", "peer", "name", PeerInterface);
            Ip("link", "set", PeerInterface, "netns", Name);
            Ip("addr", "add", $"{HostAddress}/30", "dev", HostInterface);
            Ip("link", "set", HostInterface, "up");
            Ip("-n", Name, "addr", "add", $"{PeerAddress}/30", "dev", PeerInterface);
            Ip("-n", Name, "link", "set", PeerInterface, "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture), "up");
            Ip("-n", Name, "link", "set", "lo", "up");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Name { get; }

    public string HostInterface { get; }

    public string PeerInterface { get; }

    public string HostAddress { get; }

    public string PeerAddress { get; }

    /// <summary>Runs a command inside the namespace.</summary>
    public Task<ProcessResult> RunAsync(string file, IEnumerable<string> arguments, TimeSpan timeout, string? workingDirectory = null) =>
        Tools.RunAsync(_ip, ["netns", "exec", Name, file, .. arguments], timeout, workingDirectory);

    public void Dispose()
    {
        Tools.Run(_ip, ["link", "del", HostInterface], CommandTimeout);
        Tools.Run(_ip, ["netns", "del", Name], CommandTimeout);
    }

    private void Ip(params string[] arguments)
    {
        var result = Tools.Run(_ip, arguments, CommandTimeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)} failed: {result.Stderr}");
        }
    }
}
