using Pxe.Profiles.Domain;
using Pxe.Profiles.Services;
using Pxe.Profiles.Storage;

namespace Pxe.Profiles.Tests.Services;

public class TokenServiceTests
{
    [Fact]
    public async Task Create_ShowsTheSecretOnce_StoresOnlyItsHash_AndAuthenticates()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        var tokens = new TokenService(bed.Store, bed.Clock);
        var (token, secret, error) = await tokens.CreateAsync("ci-bot", ApiRole.Operator, "admin", CancellationToken.None);
        Assert.Null(error);
        Assert.StartsWith("pxe_", secret);
        Assert.Equal(TokenService.Hash(secret!), token!.Hash);
        Assert.DoesNotContain(secret!, await File.ReadAllTextAsync(bed.Store.Path + "-wal") + await File.ReadAllTextAsync(bed.Store.Path));

        var found = await tokens.AuthenticateAsync(secret, CancellationToken.None);
        Assert.Equal(("ci-bot", ApiRole.Operator), (found!.Name, found.Role));
        Assert.Null(await tokens.AuthenticateAsync(secret + "x", CancellationToken.None));
        Assert.Null(await tokens.AuthenticateAsync(null, CancellationToken.None));

        var created = Assert.Single(await bed.Store.QueryEventsAsync(new EventQuery { Kind = EventKinds.TokenCreated }, CancellationToken.None));
        Assert.Equal("admin", created.Actor);
    }

    [Fact]
    public async Task Revoked_TokensStopWorking_AndNamesAreUnique()
    {
        await using var bed = await ProfilesTestBed.CreateAsync();
        var tokens = new TokenService(bed.Store, bed.Clock);
        var (_, secret, _) = await tokens.CreateAsync("ops", ApiRole.Admin, "admin", CancellationToken.None);
        var (_, _, dup) = await tokens.CreateAsync("ops", ApiRole.Viewer, "admin", CancellationToken.None);
        Assert.Contains("already exists", dup);
        Assert.True(await tokens.RevokeAsync("ops", "admin", CancellationToken.None));
        Assert.Null(await tokens.AuthenticateAsync(secret, CancellationToken.None));
        Assert.False(await tokens.RevokeAsync("ops", "admin", CancellationToken.None));
        Assert.NotNull(Assert.Single(await tokens.ListAsync(CancellationToken.None)).Revoked);
    }

    [Theory]
    [InlineData("admin", ApiRole.Admin)]
    [InlineData("Operator", ApiRole.Operator)]
    [InlineData("viewer", ApiRole.Viewer)]
    public void Roles_Parse(string text, ApiRole role)
    {
        Assert.True(TokenService.TryParseRole(text, out var parsed));
        Assert.Equal(role, parsed);
    }

    [Theory]
    [InlineData("root")]
    [InlineData("2")]
    [InlineData("")]
    public void UnknownRoles_DoNotParse(string text) => Assert.False(TokenService.TryParseRole(text, out _));
}
