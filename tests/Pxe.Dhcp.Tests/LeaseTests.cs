using System.Net;
using System.Net.NetworkInformation;
using Pxe.Dhcp.Protocol;

namespace Pxe.Dhcp.Tests;

/// <summary>The in-memory lease index and the in-memory store's commit rules.</summary>
public class LeaseTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly PhysicalAddress Mac = PhysicalAddress.Parse("52-54-00-00-00-01");

    private static DhcpSubnet Subnet(string start = "10.0.0.10", string end = "10.0.0.12") => new(new DhcpSubnetOptions
    {
        Network = IPAddress.Parse("10.0.0.0"),
        PrefixLength = 24,
        PoolStart = IPAddress.Parse(start),
        PoolEnd = IPAddress.Parse(end),
        DnsServers = [IPAddress.Parse("10.0.0.1")],
    }, 0);

    private static DhcpLease Lease(string address, string client, DhcpLeaseState state = DhcpLeaseState.Bound, int expiresInSeconds = 3600) => new()
    {
        Address = IPAddress.Parse(address),
        ClientId = client,
        Mac = Mac,
        State = state,
        Starts = T0,
        Expires = T0.AddSeconds(expiresInSeconds),
    };

    [Fact]
    public void Pool_SkipsHeldAddresses_AndReportsExhaustion()
    {
        var index = new LeaseIndex();
        var subnet = Subnet();
        uint a = index.NextFromPool(subnet, "a", T0);
        index.HoldOffer(a, "a", Mac, T0.AddSeconds(30));
        uint b = index.NextFromPool(subnet, "b", T0);
        index.HoldOffer(b, "b", Mac, T0.AddSeconds(30));
        uint c = index.NextFromPool(subnet, "c", T0);
        index.HoldOffer(c, "c", Mac, T0.AddSeconds(30));
        Assert.Equal([0x0A00000Au, 0x0A00000Bu, 0x0A00000Cu], new[] { a, b, c });
        Assert.Equal(0u, index.NextFromPool(subnet, "d", T0));
    }

    [Fact]
    public void Offer_ReturnsToPool_AfterHoldTime()
    {
        var index = new LeaseIndex();
        var subnet = Subnet("10.0.0.10", "10.0.0.10");
        uint a = index.NextFromPool(subnet, "a", T0);
        index.HoldOffer(a, "a", Mac, T0.AddSeconds(30));
        Assert.Equal(0u, index.NextFromPool(subnet, "b", T0.AddSeconds(29)));
        Assert.Equal(a, index.NextFromPool(subnet, "b", T0.AddSeconds(30)));
    }

    [Fact]
    public void Client_GetsItsPreviousAddressBack()
    {
        var index = new LeaseIndex();
        var subnet = Subnet();
        index.Apply(Lease("10.0.0.12", "a", DhcpLeaseState.Released));
        Assert.Equal(0x0A00000Cu, index.FindClientAddress("a", subnet, T0));
        Assert.Equal(0u, index.FindClientAddress("b", subnet, T0));
    }

    [Fact]
    public void DeclinedAddress_IsQuarantinedForEveryone_UntilItsEnd()
    {
        var index = new LeaseIndex();
        index.Apply(Lease("10.0.0.10", "a", DhcpLeaseState.Declined, expiresInSeconds: 60));
        Assert.False(index.IsAvailableFor(0x0A00000A, "a", T0));
        Assert.False(index.IsAvailableFor(0x0A00000A, "b", T0.AddSeconds(59)));
        Assert.True(index.IsAvailableFor(0x0A00000A, "b", T0.AddSeconds(60)));
    }

    [Fact]
    public void BoundLease_IsHeld_UntilItExpires_AndThenSwept()
    {
        var index = new LeaseIndex();
        index.Apply(Lease("10.0.0.10", "a", expiresInSeconds: 10));
        Assert.False(index.IsAvailableFor(0x0A00000A, "b", T0.AddSeconds(5)));
        Assert.True(index.IsAvailableFor(0x0A00000A, "a", T0.AddSeconds(5)));
        Assert.Empty(index.FindExpired(T0.AddSeconds(9), 10));
        Assert.Single(index.FindExpired(T0.AddSeconds(10), 10));
    }

    [Fact]
    public async Task Store_Bind_RejectsAddressHeldByAnotherClient()
    {
        var store = new InMemoryLeaseStore();
        var first = await store.CommitOneAsync(new LeaseWrite(LeaseWriteKind.Bind, Lease("10.0.0.10", "a"), T0), default);
        var second = await store.CommitOneAsync(new LeaseWrite(LeaseWriteKind.Bind, Lease("10.0.0.10", "b"), T0), default);
        var renew = await store.CommitOneAsync(new LeaseWrite(LeaseWriteKind.Bind, Lease("10.0.0.10", "a", expiresInSeconds: 7200), T0), default);
        Assert.Equal(LeaseWriteOutcome.Committed, first.Outcome);
        Assert.Equal(LeaseWriteOutcome.AddressInUse, second.Outcome);
        Assert.Equal("a", second.Current!.ClientId);
        Assert.Equal(LeaseWriteOutcome.Committed, renew.Outcome);
        Assert.Equal(T0.AddSeconds(7200), store.Find(IPAddress.Parse("10.0.0.10"))!.Expires);
    }

    [Fact]
    public async Task Store_Batch_AppliesInOrder_WithPerWriteOutcomes()
    {
        var store = new InMemoryLeaseStore();
        var results = await store.CommitAsync(
        [
            new LeaseWrite(LeaseWriteKind.Bind, Lease("10.0.0.10", "a"), T0),
            new LeaseWrite(LeaseWriteKind.Bind, Lease("10.0.0.10", "b"), T0),
            new LeaseWrite(LeaseWriteKind.Release, Lease("10.0.0.10", "b", DhcpLeaseState.Released), T0),
            new LeaseWrite(LeaseWriteKind.Release, Lease("10.0.0.10", "a", DhcpLeaseState.Released), T0),
            new LeaseWrite(LeaseWriteKind.Bind, Lease("10.0.0.10", "b"), T0),
        ], default);
        Assert.Equal(
            [LeaseWriteOutcome.Committed, LeaseWriteOutcome.AddressInUse, LeaseWriteOutcome.NotHeld, LeaseWriteOutcome.Committed, LeaseWriteOutcome.Committed],
            results.Select(r => r.Outcome));
        Assert.Equal(1, store.Batches);
        Assert.Equal("b", store.Find(IPAddress.Parse("10.0.0.10"))!.ClientId);
    }

    [Fact]
    public async Task Store_ExpiredOrDeclinedRows_FollowTheirEndTime()
    {
        var store = new InMemoryLeaseStore([Lease("10.0.0.10", "a", expiresInSeconds: 10), Lease("10.0.0.11", "a", DhcpLeaseState.Declined, 10)]);
        Assert.Equal(LeaseWriteOutcome.NotHeld, (await store.CommitOneAsync(new LeaseWrite(LeaseWriteKind.Expire, Lease("10.0.0.10", "a", DhcpLeaseState.Expired), T0), default)).Outcome);
        Assert.Equal(LeaseWriteOutcome.Committed, (await store.CommitOneAsync(new LeaseWrite(LeaseWriteKind.Expire, Lease("10.0.0.10", "a", DhcpLeaseState.Expired), T0.AddSeconds(10)), default)).Outcome);
        Assert.Equal(LeaseWriteOutcome.AddressInUse, (await store.CommitOneAsync(new LeaseWrite(LeaseWriteKind.Bind, Lease("10.0.0.11", "b"), T0), default)).Outcome);
        Assert.Equal(LeaseWriteOutcome.Committed, (await store.CommitOneAsync(new LeaseWrite(LeaseWriteKind.Bind, Lease("10.0.0.11", "b"), T0.AddSeconds(10)), default)).Outcome);
    }
}
