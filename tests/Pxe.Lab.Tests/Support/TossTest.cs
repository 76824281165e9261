using System.Diagnostics;
using Pxe.Images.Installer;

namespace Pxe.Lab.Tests.Support;

/// <summary>The Toss Test figures: from the re-image call to done, and to the first boot from disk.</summary>
internal sealed record TossFigures(TimeSpan ToDone, TimeSpan ToDiskBoot);

/// <summary>
/// Re-images an installed machine and measures what an operator waits for: the re-image call, the next power-on
/// installing again, done, and the power-on after it booting from disk (with --no-reboot each QEMU run is one
/// power-on, so the reboot after done is a fresh start of the same VM and disk).
/// </summary>
internal static class TossTest
{
    public static async Task<TossFigures> RunAsync(TestLab lab, string mac, string vm, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        var (status, body) = await lab.CurlAsync("POST", $"/api/v1/machines/{mac}/reimage", null);
        Assert.True(status == 200, $"reimage: {status} {body}");
        TimeSpan? done = null;
        var install = await lab.RunVmAsync(new VmOptions
        {
            Name = vm, Mac = mac, Timeout = limit,
            StopWhen = async () =>
            {
                if (done is null && await lab.StateAsync(mac) == "Installed")
                {
                    done = clock.Elapsed;
                }

                return false;
            },
        });
        Assert.False(install.TimedOut, "the re-install did not finish in time");
        Assert.Equal("Installed", await lab.StateAsync(mac));
        done ??= clock.Elapsed;

        var boot = await lab.RunVmAsync(new VmOptions { Name = vm, Mac = mac, Timeout = TimeSpan.FromMinutes(2), StopWhenSerialShows = HelloDisk.BootMessage });
        Assert.True(boot.StoppedByTest, "after the re-install the VM did not boot from its disk");
        return new TossFigures(done.Value, clock.Elapsed);
    }
}
