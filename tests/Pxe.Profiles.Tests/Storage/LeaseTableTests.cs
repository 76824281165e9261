using System.Net;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Storage;

namespace Pxe.Profiles.Tests.Storage;

public sealed class LeaseTableTests : TempStore
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly IPAddress Ip = IPAddress.Parse("10.0.0.50");

    private static Lease L(string client, IPAddress? ip = null, int minutes = 60) => new()
    {
        Address = ip ?? Ip,
        ClientId = client,
        Mac = MacAddress.Parse("52:54:00:00:00:" + client[^2..]),
        Starts = T0,
        Expires = T0.AddMinutes(minutes),
    };

    private Task<IReadOnlyList<(LeaseOutcome Outcome, Lease? Current)>> Commit(params LeaseChange[] changes) =>
        Store.CommitLeasesAsync(changes, CancellationToken.None);

    [Fact]
    public async Task Bind_ToAnAddressHeldByAnother_IsRefused_AndReturnsTheHolder()
    {
        Assert.Equal(LeaseOutcome.Committed, (await Commit(new LeaseChange(LeaseOperation.Bind, L("0101"), T0)))[0].Outcome);
        var r = (await Commit(new LeaseChange(LeaseOperation.Bind, L("0102"), T0.AddMinutes(1))))[0];
        Assert.Equal(LeaseOutcome.AddressInUse, r.Outcome);
        Assert.Equal("0101", r.Current!.ClientId);
        // Renewal by the holder works.
        Assert.Equal(LeaseOutcome.Committed, (await Commit(new LeaseChange(LeaseOperation.Bind, L("0101", minutes: 120), T0.AddMinutes(30))))[0].Outcome);
    }

    [Fact]
    public async Task Bind_AfterExpiryOrRelease_IsAllowed()
    {
        await Commit(new LeaseChange(LeaseOperation.Bind, L("0101"), T0));
        Assert.Equal(LeaseOutcome.Committed, (await Commit(new LeaseChange(LeaseOperation.Bind, L("0102"), T0.AddMinutes(61))))[0].Outcome);
        Assert.Equal(LeaseOutcome.NotHeld, (await Commit(new LeaseChange(LeaseOperation.Release, L("0101"), T0.AddMinutes(62))))[0].Outcome);
        Assert.Equal(LeaseOutcome.Committed, (await Commit(new LeaseChange(LeaseOperation.Release, L("0102"), T0.AddMinutes(62))))[0].Outcome);
        Assert.Equal(LeaseOutcome.Committed, (await Commit(new LeaseChange(LeaseOperation.Bind, L("0103"), T0.AddMinutes(63))))[0].Outcome);
    }

    [Fact]
    public async Task Decline_Quarantines_EvenForTheSameClient()
    {
        await Commit(new LeaseChange(LeaseOperation.Decline, L("0101", minutes: 10), T0));
        Assert.Equal(LeaseOutcome.AddressInUse, (await Commit(new LeaseChange(LeaseOperation.Bind, L("0101"), T0.AddMinutes(5))))[0].Outcome);
        Assert.Equal(LeaseOutcome.Committed, (await Commit(new LeaseChange(LeaseOperation.Bind, L("0101"), T0.AddMinutes(11))))[0].Outcome);
    }

    [Fact]
    public async Task Batch_AppliesInOrder_LaterWritesSeeEarlierOnes()
    {
        var r = await Commit(
            new LeaseChange(LeaseOperation.Bind, L("0101"), T0),
            new LeaseChange(LeaseOperation.Bind, L("0102"), T0),
            new LeaseChange(LeaseOperation.Bind, L("0102", IPAddress.Parse("10.0.0.51")), T0));
        Assert.Equal([LeaseOutcome.Committed, LeaseOutcome.AddressInUse, LeaseOutcome.Committed], r.Select(x => x.Outcome));
        var all = await Store.LoadLeasesAsync(CancellationToken.None);
        Assert.Equal(2, all.Count);
        Assert.Equal(T0.AddMinutes(60), all[0].Expires);
    }

    [Fact]
    public async Task Expire_OnlyAfterTheLeaseRanOut()
    {
        await Commit(new LeaseChange(LeaseOperation.Bind, L("0101"), T0));
        Assert.Equal(LeaseOutcome.NotHeld, (await Commit(new LeaseChange(LeaseOperation.Expire, L("0101"), T0.AddMinutes(59))))[0].Outcome);
        Assert.Equal(LeaseOutcome.Committed, (await Commit(new LeaseChange(LeaseOperation.Expire, L("0101"), T0.AddMinutes(60))))[0].Outcome);
        Assert.Equal(LeaseState.Expired, (await Store.LoadLeasesAsync(CancellationToken.None)).Single().State);
    }

    [Fact]
    public async Task Describe_SeesNoRowForANewAddress_AndTheStoredRowForAnExistingOne()
    {
        var seen = new List<(LeaseOperation Operation, Lease? Before)>();
        MachineEvent Describe(LeaseChange change, Lease? before, Lease stored)
        {
            seen.Add((change.Operation, before));
            return new MachineEvent { Time = change.Now, Mac = stored.Mac, Kind = EventKinds.Lease, Message = $"{change.Operation} {stored.Address}", Actor = "machine" };
        }

        var other = IPAddress.Parse("10.0.0.51");
        var r = await Store.CommitLeasesAsync(
            [
                new LeaseChange(LeaseOperation.Bind, L("0101"), T0),
                new LeaseChange(LeaseOperation.Bind, L("0101", minutes: 120), T0.AddMinutes(30)),
                new LeaseChange(LeaseOperation.Bind, L("0102"), T0.AddMinutes(31)),
                new LeaseChange(LeaseOperation.Decline, L("0103", other), T0),
                new LeaseChange(LeaseOperation.Decline, L("0104", other), T0.AddMinutes(1)),
            ],
            Describe, CancellationToken.None);

        Assert.Equal([LeaseOutcome.Committed, LeaseOutcome.Committed, LeaseOutcome.AddressInUse, LeaseOutcome.Committed, LeaseOutcome.Committed], r.Select(x => x.Outcome));
        Assert.Equal([LeaseOperation.Bind, LeaseOperation.Bind, LeaseOperation.Decline, LeaseOperation.Decline], seen.Select(s => s.Operation));
        Assert.Null(seen[0].Before);
        Assert.Equal(("0101", LeaseState.Bound, T0.AddMinutes(60)), (seen[1].Before!.ClientId, seen[1].Before!.State, seen[1].Before!.Expires));
        Assert.Null(seen[2].Before);
        Assert.Equal(("0103", LeaseState.Declined), (seen[3].Before!.ClientId, seen[3].Before!.State));

        // The refused bind stored nothing: the holder's renewed lease stands, and one event per committed change.
        var leases = await Store.LoadLeasesAsync(CancellationToken.None);
        Assert.Equal(("0101", T0.AddMinutes(120)), (leases.Single(l => l.Address.Equals(Ip)).ClientId, leases.Single(l => l.Address.Equals(Ip)).Expires));
        Assert.Equal(("0104", LeaseState.Declined), (leases.Single(l => l.Address.Equals(other)).ClientId, leases.Single(l => l.Address.Equals(other)).State));
        var events = await Store.QueryEventsAsync(new EventQuery { Kind = EventKinds.Lease }, CancellationToken.None);
        Assert.Equal(["Bind 10.0.0.50", "Bind 10.0.0.50", "Decline 10.0.0.51", "Decline 10.0.0.51"], events.Select(e => e.Message));
    }

    [Fact]
    public async Task TwoStoresOnOneDatabase_NeverGiveOneAddressToTwoClients()
    {
        var other = await SqliteStore.OpenAsync(Path.Combine(Dir, "pxe.db"), CancellationToken.None);
        var tasks = Enumerable.Range(0, 40).Select(i =>
        {
            var store = i % 2 == 0 ? Store : other;
            return store.CommitLeasesAsync([new LeaseChange(LeaseOperation.Bind, L($"01{i:x2}"), T0)], CancellationToken.None);
        });
        var results = await Task.WhenAll(tasks);
        Assert.Equal(1, results.Count(r => r[0].Outcome == LeaseOutcome.Committed));
    }
}
