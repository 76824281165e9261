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
        var acknowledgedLeases = new ConcurrentDictionary<string, IPAddress>();  // mac -> address the client was ACKed
        var counter = 0;
        var leaseCounter = 0;
        var (dhcpPort, clientPort) = (FreeUdpPort(), FreeUdpPort());
        var dhcp = new Dictionary<string, string>
        {
            ["Pxe__Dhcp__Mode"] = "full",
            ["Pxe__Dhcp__Interfaces__0"] = "lo",
            ["Pxe__Dhcp__ServerAddress"] = "127.0.0.1",
            ["Pxe__Dhcp__ListenAddress"] = "127.0.0.1",
            ["Pxe__Dhcp__BroadcastAddress"] = "127.0.0.1",
            ["Pxe__Dhcp__ServerPort"] = dhcpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Pxe__Dhcp__ClientPort"] = clientPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Pxe__Dhcp__Subnets__0__Network"] = "127.0.0.0/8",
            ["Pxe__Dhcp__Subnets__0__Interface"] = "lo",
            ["Pxe__Dhcp__Subnets__0__Pool"] = "127.77.0.10-127.77.31.250",
            ["Pxe__Dhcp__Subnets__0__Dns__0"] = "127.0.0.53",
        };
        using var client = new DhcpTestClient(clientPort, dhcpPort);

        for (var round = 0; round < rounds; round++)
        {
            await using var server = await ServerProcess.StartAsync(dirs, dhcp);
            await VerifyAsync(server, acknowledgedMachines, acknowledgedDone, runningInstalls);
            await VerifyLeasesAsync(server, acknowledgedLeases);

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
            workers.AddRange(Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var n = Interlocked.Increment(ref leaseCounter);
                    byte[] mac = [0x02, 0x00, (byte)(n >> 16), (byte)(n >> 8), (byte)n, 0x01];
                    try
                    {
                        if (await client.ObtainAsync(mac, TimeSpan.FromSeconds(2), stop.Token) is { } address)
                        {
                            acknowledgedLeases[Convert.ToHexString(mac)] = address;
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        // Stopping.
                    }
                }
            })));

            await Task.Delay(random.Next(300, 1500));
            await server.KillAsync();
            stop.Cancel();
            await Task.WhenAll(workers);
            output.WriteLine($"round {round + 1}: {acknowledgedMachines.Count} machines, {acknowledgedDone.Count} installs done, {acknowledgedLeases.Count} leases acknowledged so far");
        }

        await using var last = await ServerProcess.StartAsync(dirs, dhcp);
        await VerifyAsync(last, acknowledgedMachines, acknowledgedDone, runningInstalls);
        await VerifyLeasesAsync(last, acknowledgedLeases);
        Assert.True(acknowledgedMachines.Count > rounds, "the load made too little progress to prove anything");
        Assert.True(acknowledgedLeases.Count > rounds, "the DHCP load made too little progress to prove anything");
    }

    /// <summary>Every ACKed lease is stored for its client, and no two clients were ever told the same address.</summary>
    private static async Task VerifyLeasesAsync(ServerProcess server, IDictionary<string, IPAddress> acknowledged)
    {
        var twice = acknowledged.GroupBy(a => a.Value).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(x => x.Key))}").ToList();
        Assert.True(twice.Count == 0, "addresses ACKed to two clients: " + string.Join("; ", twice));
        var stored = (await (await server.Http.GetAsync("/api/v1/leases")).JsonAsync()).AsArray()
            .ToDictionary(l => l!["address"]!.GetValue<string>(), l => (Mac: l!["mac"]!.GetValue<string>().Replace(":", "", StringComparison.Ordinal).ToUpperInvariant(), State: l["state"]!.GetValue<string>()));
        foreach (var (mac, address) in acknowledged)
        {
            Assert.True(stored.TryGetValue(address.ToString(), out var lease), $"the ACKed lease {address} of {mac} is missing after the crash");
            Assert.Equal(mac, lease.Mac);
            Assert.Equal("bound", lease.State);
        }
    }

    private static int FreeUdpPort()
    {
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
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
