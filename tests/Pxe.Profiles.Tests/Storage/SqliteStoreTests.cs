using System.Net;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Storage;

namespace Pxe.Profiles.Tests.Storage;

public sealed class SqliteStoreTests : TempStore
{

    private static readonly MacAddress A = MacAddress.Parse("52:54:00:00:00:0a");
    private static readonly MacAddress B = MacAddress.Parse("52:54:00:00:00:0b");
    private static readonly MacAddress C = MacAddress.Parse("52:54:00:00:00:0c");

    private static MachineEvent Evt(string message) => new() { Time = DateTimeOffset.UtcNow, Kind = "test", Message = message, Actor = "test" };

    [Fact]
    public async Task Machine_RoundTrips_EveryField()
    {
        var m = new Machine
        {
            Macs = [A, B],
            Hostname = "web01",
            Domain = "example.net",
            IPv4 = new StaticIPv4 { Address = IPAddress.Parse("10.0.0.21"), PrefixLength = 24, Gateway = IPAddress.Parse("10.0.0.1"), Dns = [IPAddress.Parse("10.0.0.53")] },
            Profile = "web",
            BootAction = BootAction.Install,
            State = MachineState.Installing,
            Variables = new Dictionary<string, object?> { ["n"] = 5L, ["list"] = new List<object?> { "a", true }, ["map"] = new Dictionary<string, object?> { ["k"] = "v" } },
            KernelArgs = new Dictionary<string, string?> { ["quiet"] = null, ["console"] = "ttyS0" },
            Tags = ["rack1", "role=web"],
            Install = new InstallSession { TokenHash = "abc", Started = DateTimeOffset.FromUnixTimeMilliseconds(1000), Deadline = DateTimeOffset.FromUnixTimeMilliseconds(2000), Attempt = 2 },
        };
        var saved = await Store.SaveMachineAsync(m, Evt("created"), CancellationToken.None);
        Assert.True(saved.Id > 0);
        Assert.Equal(1, saved.Revision);

        var byB = await Store.FindByMacAsync(B, CancellationToken.None);
        Assert.NotNull(byB);
        Assert.Equal([A, B], byB.Macs);
        Assert.Equal("10.0.0.21", byB.IPv4!.Address.ToString());
        Assert.Equal("255.255.255.0", byB.IPv4.Netmask.ToString());
        Assert.Equal(5L, byB.Variables["n"]);
        Assert.Equal(new List<object?> { "a", true }, byB.Variables["list"]);
        Assert.Null(byB.KernelArgs["quiet"]);
        Assert.Equal(["rack1", "role=web"], byB.Tags);
        Assert.Equal(2, byB.Install!.Attempt);
        Assert.Equal(MachineState.Installing, byB.State);
    }

    [Fact]
    public async Task StaleRevision_IsAConflict_AndChangesNothing()
    {
        var saved = await Store.SaveMachineAsync(new Machine { Macs = [A], Hostname = "one" }, null, CancellationToken.None);
        await Store.SaveMachineAsync(saved with { Hostname = "two" }, null, CancellationToken.None);
        var e = await Assert.ThrowsAsync<StoreConflictException>(() => Store.SaveMachineAsync(saved with { Hostname = "three" }, Evt("lost"), CancellationToken.None));
        Assert.Contains("changed by someone else", e.Message);
        Assert.Equal("two", (await Store.FindByMacAsync(A, CancellationToken.None))!.Hostname);
        Assert.DoesNotContain(await Store.QueryEventsAsync(new EventQuery(), CancellationToken.None), x => x.Message == "lost");
    }

    [Fact]
    public async Task Mac_HostnameAndAddress_AreUnique()
    {
        await Store.SaveMachineAsync(new Machine
        {
            Macs = [A], Hostname = "web01",
            IPv4 = new StaticIPv4 { Address = IPAddress.Parse("10.0.0.21"), PrefixLength = 24 },
        }, null, CancellationToken.None);
        var mac = await Assert.ThrowsAsync<StoreConflictException>(() => Store.SaveMachineAsync(new Machine { Macs = [B, A] }, null, CancellationToken.None));
        Assert.Contains("MAC 52:54:00:00:00:0a already belongs to machine 52:54:00:00:00:0a (web01)", mac.Message);
        var host = await Assert.ThrowsAsync<StoreConflictException>(() => Store.SaveMachineAsync(new Machine { Macs = [B], Hostname = "web01" }, null, CancellationToken.None));
        Assert.Contains("host name 'web01'", host.Message);
        var ip = await Assert.ThrowsAsync<StoreConflictException>(() => Store.SaveMachineAsync(new Machine
        {
            Macs = [B], IPv4 = new StaticIPv4 { Address = IPAddress.Parse("10.0.0.21"), PrefixLength = 24 },
        }, null, CancellationToken.None));
        Assert.Contains("10.0.0.21 is already reserved", ip.Message);
        Assert.Null(await Store.FindByMacAsync(B, CancellationToken.None));
    }

    [Fact]
    public async Task Import_IsAllOrNothing()
    {
        await Store.SaveMachineAsync(new Machine { Macs = [A], Hostname = "taken" }, null, CancellationToken.None);
        var e = await Assert.ThrowsAsync<StoreConflictException>(() => Store.ImportMachinesAsync(
            [new Machine { Macs = [B], Hostname = "b" }, new Machine { Macs = [C], Hostname = "taken" }], "test", CancellationToken.None));
        Assert.Contains("item 2 (52:54:00:00:00:0c)", e.Message);
        Assert.Null(await Store.FindByMacAsync(B, CancellationToken.None));
        Assert.Equal(1, await Store.CountMachinesAsync(CancellationToken.None));

        var ok = await Store.ImportMachinesAsync([new Machine { Macs = [B] }, new Machine { Macs = [A], Hostname = "renamed" }], "test", CancellationToken.None);
        Assert.Equal(2, ok.Count);
        Assert.Equal("renamed", (await Store.FindByMacAsync(A, CancellationToken.None))!.Hostname);
    }

    [Fact]
    public async Task Spec_OnlyChangedContent_MakesAVersion()
    {
        var (r1, w1) = await Store.CommitSpecAsync([new SpecChange("profile", "web", "a: 1\n", "web.yaml")], "t", CancellationToken.None);
        var (r2, w2) = await Store.CommitSpecAsync([new SpecChange("profile", "web", "a: 1\n", "moved/web.yaml")], "t", CancellationToken.None);
        var (r3, w3) = await Store.CommitSpecAsync([new SpecChange("profile", "web", "a: 2\n", "web.yaml")], "t", CancellationToken.None);
        var (_, w4) = await Store.CommitSpecAsync([new SpecChange("profile", "web", null, "web.yaml")], "t", CancellationToken.None);
        Assert.Single(w1);
        Assert.Empty(w2);
        Assert.Equal(r1, r2);
        Assert.Equal(r1 + 1, r3);
        Assert.Equal(2, Assert.Single(w3).Version);
        Assert.True(Assert.Single(w4).Deleted);
        var versions = await Store.ListVersionsAsync("profile", "web", CancellationToken.None);
        Assert.Equal([1, 2, 3], versions.Select(v => v.Version));
        Assert.Empty((await Store.LoadSpecAsync(CancellationToken.None)).Objects);

        // Re-created after a deletion, numbering continues.
        var (_, w5) = await Store.CommitSpecAsync([new SpecChange("profile", "web", "a: 1\n", "web.yaml")], "t", CancellationToken.None);
        Assert.Equal(4, Assert.Single(w5).Version);
    }

    [Fact]
    public async Task Events_FilterByMacKindAndPage()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.AppendEventAsync(new MachineEvent { Time = DateTimeOffset.UtcNow, Mac = i % 2 == 0 ? A : B, Kind = i < 3 ? "x" : "y", Message = $"m{i}", Actor = "t" }, CancellationToken.None);
        }

        var forA = await Store.QueryEventsAsync(new EventQuery { Mac = A }, CancellationToken.None);
        Assert.Equal(["m0", "m2", "m4"], forA.Select(e => e.Message));
        var y = await Store.QueryEventsAsync(new EventQuery { Kind = "y" }, CancellationToken.None);
        Assert.Equal(["m3", "m4"], y.Select(e => e.Message));
        var newest2 = await Store.QueryEventsAsync(new EventQuery { Limit = 2 }, CancellationToken.None);
        Assert.Equal(["m3", "m4"], newest2.Select(e => e.Message));
        var after = await Store.QueryEventsAsync(new EventQuery { AfterId = newest2[0].Id }, CancellationToken.None);
        Assert.Equal(["m4"], after.Select(e => e.Message));
    }

    [Fact]
    public async Task Reopen_KeepsData_AndDoesNotRemigrate()
    {
        await Store.SaveMachineAsync(new Machine { Macs = [A] }, null, CancellationToken.None);
        var again = await SqliteStore.OpenAsync(Path.Combine(Dir, "pxe.db"), CancellationToken.None);
        Assert.NotNull(await again.FindByMacAsync(A, CancellationToken.None));
    }

    [Fact]
    public async Task NotADatabase_IsAClearError()
    {
        var path = Path.Combine(Dir, "garbage.db");
        await File.WriteAllTextAsync(path, new string('x', 8192));
        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => SqliteStore.OpenAsync(path, CancellationToken.None));
        Assert.Contains("cannot open the database", e.Message);
        Assert.Equal(new string('x', 8192), await File.ReadAllTextAsync(path));
    }
}
