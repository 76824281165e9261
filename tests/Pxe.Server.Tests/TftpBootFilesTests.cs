using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Pxe.Server.Tests.Support;
using Pxe.Tftp.Server;

namespace Pxe.Server.Tests;

/// <summary>
/// The TFTP server inside `pxe serve` answers the per-MAC pxelinux and GRUB configs from the inventory (by the same code
/// as the HTTP boot routes) and boot loaders from its folder; fetched with curl's TFTP client, as firmware would.
/// </summary>
public sealed class TftpBootFilesTests : IAsyncLifetime
{
    private const string Mac = "52:54:00:d1:00:0b";
    private PxeTestServer _server = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _server = await PxeTestServer.StartAsync();
        _port = (await _server.App.Services.GetRequiredService<TftpServer>().Listening).Port;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<ProcessResult> Get(string path) =>
        await Tools.RunAsync(Tools.Require("curl"), ["-sS", "--fail", "--tftp-blksize", "1408", $"tftp://127.0.0.1:{_port}/{path}"], TimeSpan.FromSeconds(30));

    [ToolFact("curl")]
    public async Task PxelinuxConfig_ForAMachineToInstall_StartsItsInstall()
    {
        await _server.Http.PutAsJsonAsync($"/api/v1/machines/{Mac}", new { profile = "web", hostname = "web01" });
        var cfg = await Get("pxelinux.cfg/01-52-54-00-d1-00-0b");
        Assert.Equal(0, cfg.ExitCode);
        Assert.Contains("KERNEL http://", cfg.Stdout, StringComparison.Ordinal);
        Assert.Contains("IPAPPEND 2", cfg.Stdout, StringComparison.Ordinal);
        var append = Assert.Single(cfg.Stdout.Split('\n'), l => l.TrimStart().StartsWith("APPEND ", StringComparison.Ordinal));
        Assert.Matches("inst.ks=http://[^ ]+/boot/52:54:00:d1:00:0b/t/[A-Za-z0-9_-]{43}/install", append);
        var machine = await (await _server.Http.GetAsync($"/api/v1/machines/{Mac}")).JsonAsync();
        Assert.Equal("Installing", machine["state"]!.GetValue<string>());
    }

    [ToolFact("curl")]
    public async Task GrubRootConfig_SourcesThePerMacFile_WhichBootsLocalAfterDone()
    {
        var root = await Get("grub/grub.cfg");
        Assert.Equal(0, root.ExitCode);
        Assert.Contains("/grub/mac/${net_default_mac}.cfg", root.Stdout, StringComparison.Ordinal);

        // GRUB asks with colons in the name; an unknown MAC is recorded and boots its disk.
        var unknown = await Get($"grub/mac/{Mac}.cfg");
        Assert.Equal(0, unknown.ExitCode);
        Assert.DoesNotContain("linux (http", unknown.Stdout, StringComparison.Ordinal);
        var machine = await (await _server.Http.GetAsync($"/api/v1/machines/{Mac}")).JsonAsync();
        Assert.Equal("Discovered", machine["state"]!.GetValue<string>());
    }

    [ToolFact("curl")]
    public async Task BootLoaders_ComeFromTheFolder_AndProbesForOtherConfigNamesAreNotFound()
    {
        var loader = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7)).ToArray();
        await File.WriteAllBytesAsync(Path.Combine(_server.Dirs.Data, "tftp", "undionly.kpxe"), loader);
        var path = Path.Combine(_server.Dirs.Root, "out.bin");
        var fetched = await Tools.RunAsync(Tools.Require("curl"), ["-sS", "--fail", "-o", path, $"tftp://127.0.0.1:{_port}/undionly.kpxe"], TimeSpan.FromSeconds(30));
        Assert.True(fetched.ExitCode == 0, fetched.Output);
        Assert.Equal(loader, await File.ReadAllBytesAsync(path));

        foreach (var probe in new[] { "pxelinux.cfg/0AD3006F", "pxelinux.cfg/0A", "pxelinux.cfg/44454c4c-0000", "grub/mac/not-a-mac.cfg" })
        {
            var r = await Get(probe);
            Assert.NotEqual(0, r.ExitCode);
        }

        var fallback = await Get("pxelinux.cfg/default");
        Assert.Contains("LOCALBOOT 0", fallback.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UefiHttpBoot_GetsTheSameLoadersOverHttp()
    {
        var efi = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();
        await File.WriteAllBytesAsync(Path.Combine(_server.Dirs.Data, "tftp", "ipxe.efi"), efi);
        Assert.Equal(efi, await _server.Http.GetByteArrayAsync("/boot/ipxe.efi"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await _server.Http.GetAsync("/boot/missing.efi")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await _server.Http.GetAsync("/boot/..%2fpxe.db.efi")).StatusCode);
    }

    [ToolFact("curl")]
    public async Task Metrics_CountTftpTransfers()
    {
        await File.WriteAllBytesAsync(Path.Combine(_server.Dirs.Data, "tftp", "pxelinux.0"), new byte[3000]);
        Assert.Equal(0, (await Get("pxelinux.0")).ExitCode);
        Assert.NotEqual(0, (await Get("no-such-file")).ExitCode);
        var metrics = await _server.Http.GetStringAsync("/metrics");
        Assert.Contains("# TYPE pxe_tftp_transfers_completed_total counter", metrics, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^pxe_tftp_transfers_completed_total [1-9]", metrics);
        Assert.Matches(@"(?m)^pxe_tftp_files_not_found_total [1-9]", metrics);
        Assert.Contains("pxe_events_dropped_total 0", metrics, StringComparison.Ordinal);
    }
}
