using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Pxe.Server.Tests.Support;
using Xunit.Abstractions;

namespace Pxe.Server.Tests;

/// <summary>
/// kill -9 during a mixed load of API writes and installs, again and again on the same data directory: after every
/// restart the store opens, nothing that was acknowledged is lost, and installs that were running either continue
/// (their token still works) or end. CI runs a few rounds; PXE_CRASH_ROUNDS sets more (bench/ runs 50).
/// </summary>
public sealed class CrashSafetyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task KillDuringLoad_LosesNoAcknowledgedWrite()
    {
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("PXE_CRASH_ROUNDS"), out var r) ? r : 4;
        using var dirs = TestDirs.Create();
        var random = new Random(20261121);
        var acknowledgedMachines = new ConcurrentDictionary<string, string>();   // mac -> hostname
        var acknowledgedDone = new ConcurrentDictionary<string, bool>();
        var runningInstalls = new ConcurrentDictionary<string, string>();        // mac -> token
        var counter = 0;

        for (var round = 0; round < rounds; round++)
        {
            await using var server = await ServerProcess.StartAsync(dirs);
            await VerifyAsync(server, acknowledgedMachines, acknowledgedDone, runningInstalls);

            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var n = Interlocked.Increment(ref counter);
                    var mac = $"52:54:00:{n >> 16 & 0xff:x2}:{n >> 8 & 0xff:x2}:{n & 0xff:x2}";
                    try
                    {
                        var put = await server.Http.PutAsJsonAsync($"/api/v1/machines/{mac}", new { profile = "web", hostname = $"h{n}" }, stop.Token);
                        if (put.StatusCode != HttpStatusCode.OK)
                        {
                            continue;
                        }

                        acknowledgedMachines[mac] = $"h{n}";
                        if (n % 3 != 0)
                        {
                            continue;
                        }

                        var script = await server.Http.GetStringAsync($"/boot/ipxe?mac={mac}", stop.Token);
                        var (_, token) = ProvisioningFlowTests.InstallUrl(ProvisioningFlowTests.Kernel(script), server.Url);
                        runningInstalls[mac] = token;
                        if ((await server.Http.PostAsync($"/boot/{mac}/t/{token}/done", null, stop.Token)).StatusCode == HttpStatusCode.OK)
                        {
                            acknowledgedDone[mac] = true;
                            runningInstalls.TryRemove(mac, out _);
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or OperationCanceledException or IOException)
                    {
                        // The server died under us: whatever was not acknowledged may or may not be stored.
                    }
                }
            })).ToList();

            await Task.Delay(random.Next(300, 1500));
            await server.KillAsync();
            stop.Cancel();
            await Task.WhenAll(workers);
            output.WriteLine($"round {round + 1}: {acknowledgedMachines.Count} machines, {acknowledgedDone.Count} installs done acknowledged so far");
        }

        await using var last = await ServerProcess.StartAsync(dirs);
        await VerifyAsync(last, acknowledgedMachines, acknowledgedDone, runningInstalls);
        Assert.True(acknowledgedMachines.Count > rounds, "the load made too little progress to prove anything");
    }

    private static async Task VerifyAsync(
        ServerProcess server, IDictionary<string, string> machines, IDictionary<string, bool> done, ConcurrentDictionary<string, string> running)
    {
        var stored = new Dictionary<string, (string? Host, string State)>();
        long after = 0;
        while (true)
        {
            var page = (await (await server.Http.GetAsync($"/api/v1/machines?after={after}&limit=1000")).JsonAsync()).AsArray();
            if (page.Count == 0)
            {
                break;
            }

            foreach (var m in page)
            {
                stored[m!["macs"]![0]!.GetValue<string>()] = (m["hostname"]?.GetValue<string>(), m["state"]!.GetValue<string>());
            }

            after += 1000;
            if (page.Count < 1000)
            {
                break;
            }
        }

        foreach (var (mac, host) in machines)
        {
            Assert.True(stored.TryGetValue(mac, out var s), $"acknowledged machine {mac} is missing after the crash");
            Assert.Equal(host, s.Host);
        }

        foreach (var mac in done.Keys)
        {
            Assert.Equal("Installed", stored[mac].State);
        }

        // Installs that were running when the server died continue: their token still works for done.
        foreach (var (mac, token) in running.Take(5).ToList())
        {
            if (stored.TryGetValue(mac, out var s) && s.State == "Installing")
            {
                var response = await server.Http.PostAsync($"/boot/{mac}/t/{token}/done", null);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    done[mac] = true;
                    running.TryRemove(mac, out _);
                }
                else
                {
                    // The token we saw was superseded by a boot whose answer never arrived: that install is the running one.
                    Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
                }
            }
        }
    }
}
