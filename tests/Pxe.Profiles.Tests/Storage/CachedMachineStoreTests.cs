using Pxe.Profiles.Domain;
using Pxe.Profiles.Storage;

namespace Pxe.Profiles.Tests.Storage;

public sealed class CachedMachineStoreTests : TempStore
{
    private static readonly MacAddress A = MacAddress.Parse("52:54:00:00:01:0a");
    private static readonly MacAddress B = MacAddress.Parse("52:54:00:00:01:0b");

    [Fact]
    public async Task LocalWrites_AreSeenAtOnce_IncludingAMacMovingAway()
    {
        var cache = new CachedMachineStore(Store, TimeProvider.System);
        var saved = await cache.SaveMachineAsync(new Machine { Macs = [A, B], Hostname = "one" }, null, CancellationToken.None);
        Assert.Equal("one", (await cache.FindByMacAsync(B, CancellationToken.None))!.Hostname);
        await cache.SaveMachineAsync(saved with { Macs = [A], Hostname = "two" }, null, CancellationToken.None);
        Assert.Equal("two", (await cache.FindByMacAsync(A, CancellationToken.None))!.Hostname);
        Assert.Null(await cache.FindByMacAsync(B, CancellationToken.None));
    }

    [Fact]
    public async Task WritesByAnotherServer_AreSeenWithinTheFreshnessInterval()
    {
        var cache = new CachedMachineStore(Store, TimeProvider.System);
        var saved = await Store.SaveMachineAsync(new Machine { Macs = [A], Hostname = "one" }, null, CancellationToken.None);
        Assert.Equal("one", (await cache.FindByMacAsync(A, CancellationToken.None))!.Hostname);
        await Store.SaveMachineAsync(saved with { Hostname = "elsewhere" }, null, CancellationToken.None);   // "another server"
        await Task.Delay(CachedMachineStore.FreshnessInterval + TimeSpan.FromMilliseconds(50));
        Assert.Equal("elsewhere", (await cache.FindByMacAsync(A, CancellationToken.None))!.Hostname);
        // Reading past the cache is always current.
        await Store.SaveMachineAsync((await Store.FindByMacAsync(A, CancellationToken.None))! with { Hostname = "now" }, null, CancellationToken.None);
        Assert.Equal("now", (await cache.FindByMacUncachedAsync(A, CancellationToken.None))!.Hostname);
    }

    [Fact]
    public async Task UnknownMacsAndFreeAddresses_AreCachedToo_UntilAWriteMakesThemKnown()
    {
        var cache = new CachedMachineStore(Store, TimeProvider.System);
        var ip = System.Net.IPAddress.Parse("10.0.0.9");
        Assert.Null(await cache.FindByMacAsync(A, CancellationToken.None));
        Assert.False(await cache.IsAddressReservedAsync(ip, CancellationToken.None));
        await cache.SaveMachineAsync(new Machine
        {
            Macs = [A], IPv4 = new StaticIPv4 { Address = ip, PrefixLength = 24 },
        }, null, CancellationToken.None);
        Assert.NotNull(await cache.FindByMacAsync(A, CancellationToken.None));
        Assert.True(await cache.IsAddressReservedAsync(ip, CancellationToken.None));
    }
}
