using System.Net;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>Bulk import (JSON and CSV) is one transaction; the OpenAPI document describes the API.</summary>
public sealed class MachineImportTests : IAsyncLifetime
{
    private PxeTestServer _server = null!;

    public async Task InitializeAsync() => _server = await PxeTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task JsonImport_StoresEveryMachine()
    {
        var items = Enumerable.Range(0, 50).Select(i => new
        {
            mac = $"52:54:00:10:00:{i:x2}",
            machine = new { profile = "web", hostname = $"web{i:00}", ipv4 = $"10.0.1.{i + 10}/24", gateway = "10.0.1.1", tags = new[] { "rack:a1" } },
        });
        var result = await (await _server.Http.PostJsonAsync("/api/v1/machines/import", items).EnsureOkAsync()).JsonAsync();
        Assert.Equal(50, result["imported"]!.GetValue<int>());

        var list = (await (await _server.Http.GetAsync("/api/v1/machines?tag=rack:a1&profile=web")).JsonAsync()).AsArray();
        Assert.Equal(50, list.Count);
        var m = await (await _server.Http.GetAsync("/api/v1/machines/52:54:00:10:00:07")).JsonAsync();
        Assert.Equal("web07", m["hostname"]!.GetValue<string>());
        Assert.Equal("10.0.1.17/24", m["ipv4"]!.GetValue<string>());
        Assert.Equal("Ready", m["state"]!.GetValue<string>());
        Assert.Contains("--ip=10.0.1.17 --netmask=255.255.255.0 --gateway=10.0.1.1", await _server.Http.GetStringAsync("/api/v1/machines/52:54:00:10:00:07/render/install"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonImport_WithOneBadRow_ImportsNothing_AndNamesTheRow()
    {
        object[] items =
        [
            new { mac = "52:54:00:20:00:01", machine = new { profile = "web" } },
            new { mac = "52:54:00:20:00:02", machine = new { profile = "web", hostname = "bad_name" } },
            new { mac = "52:54:00:20:00:03", machine = new { profile = "web" } },
        ];
        var response = await _server.Http.PostJsonAsync("/api/v1/machines/import", items);
        var detail = await response.ProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("nothing was imported", detail, StringComparison.Ordinal);
        Assert.Contains("item 2 (52:54:00:20:00:02): hostname:", detail, StringComparison.Ordinal);
        Assert.Single((await response.JsonAsync())["errors"]!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Http.GetAsync("/api/v1/machines/52:54:00:20:00:01")).StatusCode);

        var duplicate = await _server.Http.PostJsonAsync("/api/v1/machines/import", new[]
        {
            new { mac = "52:54:00:20:00:04", machine = new { profile = "web" } },
            new { mac = "52-54-00-20-00-04", machine = new { profile = "web" } },
        });
        Assert.Contains("item 2: mac: 52:54:00:20:00:04 appears twice", await duplicate.ProblemAsync(HttpStatusCode.UnprocessableEntity), StringComparison.Ordinal);

        await (await _server.Http.PostRawAsync("/api/v1/machines/import", "[{\"mac\": ", "application/json")).ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task JsonImport_UpdatesStoredMachines_KeepingTheirState_AndAMacCollisionImportsNothing()
    {
        await _server.Http.PutJsonAsync("/api/v1/machines/52:54:00:30:00:02", new { profile = "debian12", macs = new[] { "52:54:00:30:00:02", "52:54:00:30:00:03" } }).EnsureOkAsync();
        await _server.Http.GetStringAsync("/boot/ipxe?mac=52:54:00:30:00:02");
        await _server.Http.PostJsonAsync("/api/v1/machines/import", new[]
        {
            new { mac = "52:54:00:30:00:02", machine = new { profile = "web", hostname = "renamed" } },
        }).EnsureOkAsync();
        var updated = await (await _server.Http.GetAsync("/api/v1/machines/52:54:00:30:00:02")).JsonAsync();
        Assert.Equal("web", updated["profile"]!.GetValue<string>());
        Assert.Equal("renamed", updated["hostname"]!.GetValue<string>());
        Assert.Equal("Installing", updated["state"]!.GetValue<string>());

        await _server.Http.PutJsonAsync("/api/v1/machines/52:54:00:30:00:05", new { profile = "debian12", macs = new[] { "52:54:00:30:00:05", "52:54:00:30:00:06" } }).EnsureOkAsync();
        var response = await _server.Http.PostJsonAsync("/api/v1/machines/import", new[]
        {
            new { mac = "52:54:00:30:00:01", machine = new { profile = "web", macs = new[] { "52:54:00:30:00:01" } } },
            new { mac = "52:54:00:30:00:04", machine = new { profile = "web", macs = new[] { "52:54:00:30:00:04", "52:54:00:30:00:06" } } },
        });
        var detail = await response.ProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("item 2 (52:54:00:30:00:04)", detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Http.GetAsync("/api/v1/machines/52:54:00:30:00:01")).StatusCode);
        Assert.Equal("debian12", (await (await _server.Http.GetAsync("/api/v1/machines/52:54:00:30:00:06")).JsonAsync())["profile"]!.GetValue<string>());
    }

    [Fact]
    public async Task CsvImport_StoresRows_AndOneBadRowImportsNothing()
    {
        const string good = "mac,hostname,profile,ipv4,gateway,dns,tags\n"
            + "52:54:00:40:00:01,db01,debian12,10.0.2.11/24,10.0.2.1,10.0.2.2;10.0.2.3,rack:b1;db\n"
            + "\"52-54-00-40-00-02\",db02,debian12,,,,rack:b1\n";
        var ok = await (await _server.Http.PostRawAsync("/api/v1/machines/import", good, "text/csv").EnsureOkAsync()).JsonAsync();
        Assert.Equal(2, ok["imported"]!.GetValue<int>());
        var db01 = await (await _server.Http.GetAsync("/api/v1/machines/52:54:00:40:00:01")).JsonAsync();
        Assert.Equal(["10.0.2.2", "10.0.2.3"], db01["dns"]!.AsArray().Select(d => d!.GetValue<string>()));
        Assert.Equal(["rack:b1", "db"], db01["tags"]!.AsArray().Select(d => d!.GetValue<string>()));

        const string bad = "mac,hostname,profile\n52:54:00:40:00:03,db03,debian12\n52:54:00:40:00:04,db04,debian13\n";
        var response = await _server.Http.PostRawAsync("/api/v1/machines/import", bad, "text/csv");
        var detail = await response.ProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("item 2 (52:54:00:40:00:04): profile: profile 'debian13' does not exist", detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Http.GetAsync("/api/v1/machines/52:54:00:40:00:03")).StatusCode);

        var ragged = await _server.Http.PostRawAsync("/api/v1/machines/import", "mac,hostname\n52:54:00:40:00:05,a,b\n", "text/csv");
        Assert.Contains("line 2: 3 cells, but the header has 2 columns", await ragged.ProblemAsync(HttpStatusCode.UnprocessableEntity), StringComparison.Ordinal);
        var header = await _server.Http.PostRawAsync("/api/v1/machines/import", "mac,colour\n52:54:00:40:00:05,red\n", "text/csv");
        Assert.Contains("unknown column 'colour'", await header.ProblemAsync(HttpStatusCode.UnprocessableEntity), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApiDocument_IsServed_AndListsTheMachineRoutes()
    {
        var doc = await (await _server.Http.GetAsync("/api/v1/openapi.json").EnsureOkAsync()).JsonAsync();
        Assert.StartsWith("3.", doc["openapi"]!.GetValue<string>(), StringComparison.Ordinal);
        var paths = doc["paths"]!.AsObject();
        Assert.True(paths.ContainsKey("/api/v1/machines"), string.Join(", ", paths.Select(p => p.Key)));
        var machine = paths["/api/v1/machines/{mac}"]!.AsObject();
        Assert.True(machine.ContainsKey("get") && machine.ContainsKey("put") && machine.ContainsKey("delete"));
        Assert.True(paths.ContainsKey("/api/v1/machines/{mac}/reimage"));
        Assert.True(paths.ContainsKey("/api/v1/machines/import"));
        Assert.True(paths.ContainsKey("/api/v1/profiles/{name}/render/{file}"));
        Assert.True(paths.ContainsKey("/boot/ipxe"));
    }
}
