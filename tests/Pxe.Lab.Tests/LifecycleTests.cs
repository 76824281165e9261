using Pxe.Lab.Tests.Support;
using Xunit.Abstractions;

namespace Pxe.Lab.Tests;

/// <summary>The real Debian installer, and what happens when an install never finishes.</summary>
[Collection(LabCollection.Name)]
public sealed class LifecycleTests(ITestOutputHelper output)
{
    [ToolFact("root", "qemu-system-x86_64=qemu-system-x86")]
    public async Task DebianInstaller_BootsWithOurPreseedUrl_AndFetchesThePreseed()
    {
        await using var lab = await TestLab.StartAsync(output, new LabOptions { DebianInstaller = true });
        const string mac = "52:54:00:d1:00:20";
        await lab.AddMachineAsync(mac, "debian", "debian12");

        // There is no package mirror in the lab: the VM is stopped once the installer has fetched its preseed.
        var run = await lab.RunVmAsync(new VmOptions
        {
            Name = "di", Mac = mac, MemoryMiB = 1024, Timeout = TimeSpan.FromMinutes(8),
            StopWhen = async () => (await lab.EventsAsync(mac)).Any(e => e.Kind == "install.served"),
        });

        Assert.True(run.StoppedByTest, "the Debian installer never fetched its preseed");
        var events = await lab.EventsAsync(mac);
        InstallTests.AssertInOrder(events,
            e => e.Kind == "state.changed" && e.Message.StartsWith("iPXE script served: installing profile debian12", StringComparison.Ordinal),
            e => e.Kind == "install.served" && e.Message.Contains("install/debian12.preseed", StringComparison.Ordinal));
        Assert.Equal("Installing", await lab.StateAsync(mac));
    }

    [ToolFact("root", "qemu-system-x86_64=qemu-system-x86")]
    public async Task InstallTimeout_TurnsTheMachineFailed_AndTheRetryPolicyInstallsAgain()
    {
        await using var lab = await TestLab.StartAsync(output, new LabOptions
        {
            Profiles = new Dictionary<string, string>
            {
                ["hello-retry.yaml"] = "kind: profile\nname: hello-retry\nparent: hello-disk\ninstall_timeout: 60s\ninstall_retries: 1\n",
            },
        });
        const string mac = "52:54:00:d1:00:21";
        await lab.AddMachineAsync(mac, "retry", "hello-retry");

        // The install starts, then the machine loses power before it could call done.
        var lost = await lab.RunVmAsync(new VmOptions
        {
            Name = "vm8", Mac = mac, Timeout = TimeSpan.FromMinutes(3),
            StopWhen = async () => await lab.StateAsync(mac) == "Installing",
        });
        Assert.True(lost.StoppedByTest);

        await lab.WaitForStateAsync(mac, "Failed", TimeSpan.FromSeconds(120));
        var failed = (await lab.EventsAsync(mac)).Last(e => e.Actor == "timer");
        Assert.Contains("did not call done within its deadline", failed.Message, StringComparison.Ordinal);
        Assert.Contains("the next network boot installs again (retry 1 of 1)", failed.Message, StringComparison.Ordinal);
        Assert.Equal("install", (await lab.MachineAsync(mac)).GetProperty("boot_action").GetString());

        var retry = await lab.RunVmAsync(new VmOptions { Name = "vm8", Mac = mac, Timeout = TimeSpan.FromMinutes(4) });

        Assert.False(retry.TimedOut, "the retried install did not finish");
        Assert.Equal("Installed", await lab.StateAsync(mac));
        InstallTests.AssertInOrder(await lab.EventsAsync(mac),
            e => e.Actor == "timer",
            e => e.Message.Contains("attempt 2; state Failed -> Installing", StringComparison.Ordinal),
            e => e.Kind == "install.done");
    }
}
