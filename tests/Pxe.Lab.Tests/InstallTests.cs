using System.Diagnostics;
using Pxe.Images.Installer;
using Pxe.Lab.Tests.Support;
using Xunit.Abstractions;

namespace Pxe.Lab.Tests;

/// <summary>
/// Unattended installs on real firmware in a private lab: QEMU's SeaBIOS with its iPXE ROM, and OVMF, boot from
/// `pxe serve` (DHCP, TFTP, HTTP), run PxeServer's installer, which writes the hello disk image and calls done.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class InstallTests(ITestOutputHelper output)
{
    private static readonly TimeSpan InstallLimit = TimeSpan.FromMinutes(4);

    [ToolFact("root", "qemu-system-x86_64=qemu-system-x86")]
    public async Task Bios_IpxeRom_InstallsOverHttp_AndEventsShowEachStepInOrder()
    {
        await using var lab = await TestLab.StartAsync(output);
        const string mac = "52:54:00:d1:00:0a";
        await lab.AddMachineAsync(mac, "bios-ipxe", "hello-disk");

        var run = await lab.RunVmAsync(new VmOptions { Name = "vm1", Mac = mac, Timeout = InstallLimit });

        Assert.False(run.TimedOut, "the install did not finish in time");
        Assert.Contains("iPXE", run.Serial, StringComparison.Ordinal);
        Assert.Contains("pxe-installer: install finished; reboot", run.Serial, StringComparison.Ordinal);
        Assert.Equal("Installed", await lab.StateAsync(mac));
        var events = await lab.EventsAsync(mac);
        AssertInOrder(events,
            e => e.Kind == "dhcp.lease",
            e => e.Kind == "state.changed" && e.Message.StartsWith("iPXE script served: installing profile hello-disk", StringComparison.Ordinal),
            e => e.Kind == "install.served",
            e => e.Kind == "install.progress" && e.Message.StartsWith("image-written", StringComparison.Ordinal),
            e => e.Kind == "install.done");
    }

    [ToolFact("root", "qemu-system-x86_64=qemu-system-x86", "/usr/lib/PXELINUX/pxelinux.0=pxelinux")]
    public async Task Bios_ClassicPxe_BootsPxelinuxOverTftp_WithItsPerMacConfig_AndInstalls()
    {
        await using var lab = await TestLab.StartAsync(output, new LabOptions
        {
            Profiles = new Dictionary<string, string>
            {
                ["hello-pxelinux.yaml"] = "kind: profile\nname: hello-pxelinux\nparent: hello-disk\nboot_loader: pxelinux\n",
            },
        });
        const string mac = "52:54:00:d1:00:0b";
        await lab.AddMachineAsync(mac, "bios-pxelinux", "hello-pxelinux");

        var run = await lab.RunVmAsync(new VmOptions { Name = "vm2", Mac = mac, Timeout = InstallLimit });

        Assert.False(run.TimedOut, "the install did not finish in time");
        Assert.Contains("PXELINUX", run.Serial, StringComparison.Ordinal);
        Assert.Contains("pxe-installer: install finished; reboot", run.Serial, StringComparison.Ordinal);
        Assert.Equal("Installed", await lab.StateAsync(mac));
        AssertInOrder(await lab.EventsAsync(mac),
            e => e.Kind == "dhcp.lease",
            e => e.Kind == "state.changed" && e.Message.StartsWith("pxelinux config served: installing profile hello-pxelinux", StringComparison.Ordinal),
            e => e.Kind == "install.served",
            e => e.Kind == "install.done");
    }

    [ToolFact("root", "qemu-system-x86_64=qemu-system-x86", "/usr/share/OVMF/OVMF_CODE_4M.fd=ovmf")]
    public async Task Uefi_Ovmf_ChainloadsIpxeEfiOverTftp_ThenInstallsOverHttp()
    {
        await using var lab = await TestLab.StartAsync(output);
        const string mac = "52:54:00:d1:00:0c";
        await lab.AddMachineAsync(mac, "uefi", "hello-disk");

        // virtio-net with no option ROM: OVMF's own PXE asks DHCP as architecture 7 and fetches ipxe.efi by TFTP.
        var run = await lab.RunVmAsync(new VmOptions { Name = "vm3", Mac = mac, Firmware = "uefi", Nic = "virtio", Timeout = InstallLimit });

        Assert.False(run.TimedOut, "the install did not finish in time");
        Assert.Contains("pxe-installer: install finished; reboot", run.Serial, StringComparison.Ordinal);
        Assert.Equal("Installed", await lab.StateAsync(mac));
        var events = await lab.EventsAsync(mac);
        AssertInOrder(events,
            e => e.Kind == "dhcp.lease",
            e => e.Kind == "state.changed" && e.Message.StartsWith("iPXE script served: installing profile hello-disk", StringComparison.Ordinal),
            e => e.Kind == "install.served",
            e => e.Kind == "install.done");
        Assert.Contains("NBP filename is ipxe.efi", run.Serial, StringComparison.Ordinal);
    }

    [ToolFact("root", "qemu-system-x86_64=qemu-system-x86")]
    public async Task BootOnce_AfterDone_TheNextPowerOnBootsFromDisk_WithoutInstalling()
    {
        await using var lab = await TestLab.StartAsync(output);
        const string mac = "52:54:00:d1:00:0d";
        await lab.AddMachineAsync(mac, "boot-once", "hello-disk");
        Assert.False((await lab.RunVmAsync(new VmOptions { Name = "vm4", Mac = mac, Timeout = InstallLimit })).TimedOut);
        Assert.Equal("Installed", await lab.StateAsync(mac));
        var installsBefore = (await lab.EventsAsync(mac)).Count(e => e.Kind == "install.served");

        var second = await lab.RunVmAsync(new VmOptions { Name = "vm4", Mac = mac, Timeout = TimeSpan.FromMinutes(2), StopWhenSerialShows = HelloDisk.BootMessage });

        Assert.True(second.StoppedByTest, "the VM never printed the disk's boot message:\n" + second.Serial[^Math.Min(2000, second.Serial.Length)..]);
        var events = await lab.EventsAsync(mac);
        Assert.Contains(events, e => e.Message.Contains("served: boot from local disk", StringComparison.Ordinal));
        Assert.Equal(installsBefore, events.Count(e => e.Kind == "install.served"));
        Assert.Equal("Installed", await lab.StateAsync(mac));
    }

    [ToolTheory("root", "qemu-system-x86_64=qemu-system-x86")]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reimage_InstallsAgainOnTheNextBoot_AndPrintsTheTossTestFigures(bool fastIpxe)
    {
        await using var lab = await TestLab.StartAsync(output, new LabOptions { FastIpxe = fastIpxe });
        var mac = fastIpxe ? "52:54:00:d1:00:1e" : "52:54:00:d1:00:0e";
        await lab.AddMachineAsync(mac, "toss", "hello-disk");
        Assert.False((await lab.RunVmAsync(new VmOptions { Name = "vm5", Mac = mac, Timeout = InstallLimit })).TimedOut);
        Assert.Equal("Installed", await lab.StateAsync(mac));

        var toss = await TossTest.RunAsync(lab, mac, "vm5", InstallLimit);

        var events = await lab.EventsAsync(mac);
        var reimage = events.Last(e => e.Kind == "reimage");
        var lease = events.First(e => e.Id > reimage.Id && e.Kind == "dhcp.lease");
        var script = events.First(e => e.Id > reimage.Id && e.Message.StartsWith("iPXE script served", StringComparison.Ordinal));
        var leaseToScript = script.Time - lease.Time;
        output.WriteLine($"Toss Test (BIOS iPXE, TCG, fast iPXE {(fastIpxe ? "on" : "off")}): re-image -> done {toss.ToDone.TotalSeconds:F1} s, " +
            $"re-image -> first boot from disk {toss.ToDiskBoot.TotalSeconds:F1} s; DHCP lease -> boot script {leaseToScript.TotalSeconds:F1} s");
        Assert.Equal("Installed", await lab.StateAsync(mac));
        Assert.Equal(2, events.Count(e => e.Kind == "install.done"));
        AssertInOrder(events, e => e.Kind == "reimage", e => e.Kind == "install.served", e => e.Kind == "install.done",
            e => e.Message.Contains("served: boot from local disk", StringComparison.Ordinal));
        if (fastIpxe)
        {
            // Without the advertisement iPXE idles about 13 s here waiting for IPv6.
            Assert.True(leaseToScript < TimeSpan.FromSeconds(8), $"with fast iPXE the script came {leaseToScript.TotalSeconds:F1} s after the lease");
        }
    }

    [ToolFact("root", "qemu-system-x86_64=qemu-system-x86")]
    public async Task BootStorm_FourVmsInstallAtOnce_AndAllFinish()
    {
        await using var lab = await TestLab.StartAsync(output);
        var vms = Enumerable.Range(0, 4).Select(i => (Name: $"storm{i}", Mac: $"52:54:00:d1:01:{i:x2}")).ToList();
        foreach (var (name, mac) in vms)
        {
            await lab.AddMachineAsync(mac, name, "hello-disk");
        }

        var clock = Stopwatch.StartNew();
        var runs = await Task.WhenAll(vms.Select(v => lab.RunVmAsync(new VmOptions { Name = v.Name, Mac = v.Mac, Timeout = TimeSpan.FromMinutes(8) })));
        output.WriteLine($"boot storm: {vms.Count} VMs installed in {clock.Elapsed.TotalSeconds:F1} s");

        Assert.All(runs, r => Assert.False(r.TimedOut));
        foreach (var (_, mac) in vms)
        {
            Assert.Equal("Installed", await lab.StateAsync(mac));
        }
    }

    internal static void AssertInOrder(IReadOnlyList<LabEvent> events, params Func<LabEvent, bool>[] steps)
    {
        var at = 0;
        for (var i = 0; i < steps.Length; i++)
        {
            while (at < events.Count && !steps[i](events[at]))
            {
                at++;
            }

            Assert.True(at < events.Count, $"step {i + 1} of {steps.Length} is missing or out of order; events:\n" +
                string.Join('\n', events.Select(e => $"{e.Time:HH:mm:ss.fff} {e.Kind} [{e.Actor}] {e.Message}")));
            at++;
        }
    }
}

/// <summary>Lab tests share the machine's two cores: one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class LabCollection
{
    public const string Name = "lab";
}
