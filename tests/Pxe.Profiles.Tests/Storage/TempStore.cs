using Microsoft.Data.Sqlite;
using Pxe.Profiles.Storage;

namespace Pxe.Profiles.Tests.Storage;

/// <summary>A fresh SQLite store in its own temp folder per test, deleted afterwards.</summary>
public abstract class TempStore : IAsyncLifetime
{
    protected string Dir { get; } = Directory.CreateTempSubdirectory("pxe-store-").FullName;

    protected SqliteStore Store { get; private set; } = null!;

    public async Task InitializeAsync() => Store = await SqliteStore.OpenAsync(Path.Combine(Dir, "pxe.db"), CancellationToken.None);

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Dir, recursive: true);
        return Task.CompletedTask;
    }
}
