using System.Globalization;
using System.Threading.Channels;
using Pxe.Images.Building;
using Pxe.Images.Tools;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Services;
using Pxe.Profiles.Storage;
using Pxe.Server.Hosting;

namespace Pxe.Server.Images;

/// <summary>Event ids of the server's image services (110–119), in one table.</summary>
internal static class ImageLogIds
{
    public const int BuildQueued = 110;
    public const int BuildRefused = 111;
    public const int BuildCrashed = 112;
    public const int LibraryUnreadable = 113;
}

/// <summary>Where a build is.</summary>
internal enum ImageBuildState
{
    /// <summary>Waiting for the build before it.</summary>
    Queued,

    /// <summary>Running now.</summary>
    Building,
}

/// <summary>A build that is queued or running, as the API shows it (the image is not in the library yet).</summary>
internal sealed record PendingImageBuild
{
    public required string Name { get; init; }

    public required string Version { get; init; }

    public string? Role { get; init; }

    public required IReadOnlyList<ImageFormat> Formats { get; init; }

    public required string Actor { get; init; }

    public required DateTimeOffset Queued { get; init; }

    public ImageBuildState State { get; init; }

    /// <summary>The step running now ("base", "role", "disk", "store"…), once building.</summary>
    public string? Step { get; init; }

    /// <summary>Bytes the step has written so far.</summary>
    public long Bytes { get; init; }
}

/// <summary>What <see cref="ImageBuildService.EnqueueAsync"/> did: the queued build, or why not (a conflict, or a full queue).</summary>
internal sealed record EnqueueOutcome(PendingImageBuild? Build, int Ahead, string? Conflict, string? QueueFull);

/// <summary>
/// Runs image builds in the background, one at a time, from a bounded queue (<see cref="PxeOptions.ImageBuildQueueLength"/>;
/// a full queue refuses new builds instead of growing). Every build becomes events: <c>image.build</c> when queued and
/// for each step's start, cache hit and finish, plus its bytes at most every <see cref="ProgressInterval"/> per step
/// while it runs; then <c>image.built</c> (formats, files, sizes, SHA-256) or <c>image.failed</c> (the error with the
/// tool's output tail, and the build log's path). It also keeps the <see cref="ImageCatalog"/> current.
/// </summary>
internal sealed partial class ImageBuildService : BackgroundService
{
    /// <summary>Running progress of one step becomes an event at most this often (start, cache hit and finish always do).</summary>
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    /// <summary>How often the library folder is checked for versions added or removed outside the server.</summary>
    public static readonly TimeSpan LibraryCheckInterval = TimeSpan.FromSeconds(2);

    private readonly Channel<Job> _queue;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PendingImageBuild> _pending = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _enqueueLock = new(1, 1);
    private readonly ImageBuilder _builder;
    private readonly ImageCatalog _catalog;
    private readonly EventLog _events;
    private readonly IEventStore _store;
    private readonly PxeOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<ImageBuildService> _log;

    public ImageBuildService(ImageBuilder builder, ImageCatalog catalog, EventLog events, IEventStore store, PxeOptions options, TimeProvider clock, ILogger<ImageBuildService> log)
    {
        _builder = builder;
        _catalog = catalog;
        _events = events;
        _store = store;
        _options = options;
        _clock = clock;
        _log = log;
        _queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(options.ImageBuildQueueLength) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>The builds queued or running, oldest first.</summary>
    public IReadOnlyList<PendingImageBuild> Pending
    {
        get
        {
            lock (_gate)
            {
                return [.. _pending.Values.OrderBy(p => p.Queued)];
            }
        }
    }

    /// <summary>
    /// Queues a build of a validated recipe. Without a version the build gets the next whole number after the newest
    /// stored or queued version of the name. A version that exists or is already queued is a conflict.
    /// </summary>
    public async Task<EnqueueOutcome> EnqueueAsync(ImageRecipe recipe, bool rebuild, string actor, CancellationToken ct)
    {
        await _enqueueLock.WaitAsync(ct);
        try
        {
            var library = _catalog.Library;
            string version;
            if (recipe.Version is { } pinned)
            {
                if (await library.GetAsync(recipe.Name, pinned, ct) is not null)
                {
                    return new EnqueueOutcome(null, 0, $"image {recipe.Name} version {pinned} already exists; remove it first (`pxe images rm {recipe.Name} --version {pinned}`) or build another version", null);
                }

                if (Find(recipe.Name, pinned) is not null)
                {
                    return new EnqueueOutcome(null, 0, $"image {recipe.Name} version {pinned} is already queued or being built; follow it with `pxe events --kind image.build`", null);
                }

                version = pinned;
            }
            else
            {
                var next = int.Parse(await library.NextVersionAsync(recipe.Name, ct), CultureInfo.InvariantCulture);
                var queued = Pending.Where(p => p.Name == recipe.Name)
                    .Select(p => int.TryParse(p.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n + 1 : 0);
                version = queued.Append(next).Max().ToString(CultureInfo.InvariantCulture);
            }

            var build = new PendingImageBuild
            {
                Name = recipe.Name,
                Version = version,
                Role = recipe.Role?.Name,
                Formats = recipe.Formats,
                Actor = actor,
                Queued = _clock.GetUtcNow(),
            };
            int ahead;
            lock (_gate)
            {
                ahead = _pending.Count;
                if (!_queue.Writer.TryWrite(new Job(recipe with { Version = version }, rebuild, actor)))
                {
                    LogRefused(_log, recipe.Name, version, ahead);
                    return new EnqueueOutcome(null, ahead, null,
                        $"the image build queue is full ({_options.ImageBuildQueueLength} builds waiting behind the one running); try again when one finishes, or raise ImageBuildQueueLength");
                }

                _pending[Key(recipe.Name, version)] = build;
            }

            _events.Post(Event(EventKinds.ImageBuild, ImageBuildEvents.Queued(recipe, version, rebuild, actor, ahead), actor));
            LogQueued(_log, recipe.Name, version, actor, ahead);
            return new EnqueueOutcome(build, ahead, null, null);
        }
        finally
        {
            _enqueueLock.Release();
        }
    }

    /// <summary>A queued or running build of this version, or null.</summary>
    public PendingImageBuild? Find(string name, string version)
    {
        lock (_gate)
        {
            return _pending.GetValueOrDefault(Key(name, version));
        }
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_catalog.LastError is { } error)
        {
            LogLibraryUnreadable(_log, error);
        }

        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watcher = WatchLibraryAsync(stoppingToken);
        try
        {
            await foreach (var job in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                await BuildAsync(job, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: builds still queued are reported as not built.
            while (_queue.Reader.TryRead(out var job))
            {
                await FinishAsync(job, EventKinds.ImageFailed,
                    ImageBuildEvents.Failed(job.Recipe.Name, job.Recipe.Version!, "not built: the server stopped before its turn; queue it again", null));
            }
        }

        await watcher;
    }

    private async Task BuildAsync(Job job, CancellationToken stoppingToken)
    {
        var name = job.Recipe.Name;
        var version = job.Recipe.Version!;
        Update(name, version, p => p with { State = ImageBuildState.Building });
        var progress = new EventProgress(this, job);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        limit.CancelAfter(_options.ImageBuildTimeout);
        try
        {
            var image = await _builder.BuildAsync(job.Recipe, progress, job.Rebuild, limit.Token);
            await RefreshCatalogAsync(CancellationToken.None);
            await FinishAsync(job, EventKinds.ImageBuilt, ImageBuildEvents.Built(image, progress.CachedSteps, progress.Steps));
        }
        catch (ImageBuildException e)
        {
            var error = e.InnerException is ToolException { OutputTail.Length: > 0 } tool && !e.Message.Contains(tool.OutputTail, StringComparison.Ordinal)
                ? $"{e.Message}{Environment.NewLine}{tool.OutputTail}"
                : e.Message;
            await FinishAsync(job, EventKinds.ImageFailed, ImageBuildEvents.Failed(name, version, error, e.BuildLog));
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            var reason = stoppingToken.IsCancellationRequested
                ? "cancelled: the server stopped during the build; queue it again"
                : $"cancelled after {_options.ImageBuildTimeout} (ImageBuildTimeout): a tool hung, or the build needs a longer limit";
            await FinishAsync(job, EventKinds.ImageFailed, ImageBuildEvents.Failed(name, version, reason, FailedLog(name, version)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or InvalidDataException or ArgumentException)
        {
            // Outside a step (the library folder itself); the worker stays up for the next build.
            LogCrashed(_log, name, version, e);
            await FinishAsync(job, EventKinds.ImageFailed, ImageBuildEvents.Failed(name, version, e.Message, FailedLog(name, version)));
        }
    }

    /// <summary>The last event of a build, stored after its progress events (so it is the last one a follower sees), and the build leaves the pending list.</summary>
    private async Task FinishAsync(Job job, string kind, string message)
    {
        await _events.FlushAsync(CancellationToken.None);
        try
        {
            await _store.AppendEventAsync(Event(kind, message, job.Actor), CancellationToken.None);
        }
        finally
        {
            lock (_gate)
            {
                _pending.Remove(Key(job.Recipe.Name, job.Recipe.Version!));
            }
        }
    }

    /// <summary>Refreshes the catalog (after a build or a removal); a library that cannot be read is logged and keeps the old snapshot.</summary>
    public async Task RefreshCatalogAsync(CancellationToken ct)
    {
        if (await _catalog.RefreshAsync(ct) is { } error)
        {
            LogLibraryUnreadable(_log, error);
        }
    }

    private async Task WatchLibraryAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(LibraryCheckInterval, _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (_catalog.IsStale())
                {
                    await RefreshCatalogAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    /// <summary>The log a failed or cancelled build left in the image's .failed folder (the newest for this version).</summary>
    private string? FailedLog(string name, string version)
    {
        var folder = Path.Combine(_catalog.Library.Root, name, ".failed");
        return Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, version + "-*.log").OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
            : null;
    }

    private void Update(string name, string version, Func<PendingImageBuild, PendingImageBuild> change)
    {
        lock (_gate)
        {
            if (_pending.TryGetValue(Key(name, version), out var p))
            {
                _pending[Key(name, version)] = change(p);
            }
        }
    }

    private MachineEvent Event(string kind, string message, string actor) => new() { Time = _clock.GetUtcNow(), Kind = kind, Message = message, Actor = actor };

    private static string Key(string name, string version) => name + "/" + version;

    public override void Dispose()
    {
        _enqueueLock.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = ImageLogIds.BuildQueued, Level = LogLevel.Information, Message = "Image {Image} version {Version} queued by {Actor} ({Ahead} ahead)")]
    private static partial void LogQueued(ILogger log, string image, string version, string actor, int ahead);

    [LoggerMessage(EventId = ImageLogIds.BuildRefused, Level = LogLevel.Warning, Message = "Image {Image} version {Version} refused: the build queue is full ({Pending} pending)")]
    private static partial void LogRefused(ILogger log, string image, string version, int pending);

    [LoggerMessage(EventId = ImageLogIds.BuildCrashed, Level = LogLevel.Error, Message = "Image {Image} version {Version} failed outside a build step")]
    private static partial void LogCrashed(ILogger log, string image, string version, Exception e);

    [LoggerMessage(EventId = ImageLogIds.LibraryUnreadable, Level = LogLevel.Warning, Message = "{Reason}; installs keep using the images known before")]
    private static partial void LogLibraryUnreadable(ILogger log, string reason);

    private sealed record Job(ImageRecipe Recipe, bool Rebuild, string Actor);

    /// <summary>
    /// Turns a build's progress into events (as <see cref="ProgressThrottle"/> lets through); the pending build always
    /// shows the latest step and bytes.
    /// </summary>
    private sealed class EventProgress(ImageBuildService owner, Job job) : IProgress<ImageBuildProgress>
    {
        private readonly ProgressThrottle _throttle = new(ProgressInterval);
        private readonly long _start = owner._clock.GetTimestamp();
        private readonly Lock _gate = new();

        /// <summary>Cached steps that finished (from the cache or built), not counting storing the files.</summary>
        public int Steps { get; private set; }

        /// <summary>Those of them taken from the cache.</summary>
        public int CachedSteps { get; private set; }

        public void Report(ImageBuildProgress value)
        {
            var name = job.Recipe.Name;
            var version = job.Recipe.Version!;
            owner.Update(name, version, p => p with { Step = value.Step, Bytes = value.Bytes });
            lock (_gate)
            {
                if (value.Stage is ImageBuildStage.Cached or ImageBuildStage.Finished && value.Step != "store")
                {
                    Steps++;
                    CachedSteps += value.Stage == ImageBuildStage.Cached ? 1 : 0;
                }

                if (_throttle.ShouldPost(value, owner._clock.GetElapsedTime(_start)))
                {
                    owner._events.Post(owner.Event(EventKinds.ImageBuild, ImageBuildEvents.Progress(name, version, value), job.Actor));
                }
            }
        }
    }
}

/// <summary>
/// Which progress reports of one build become events: every step's start, cache hit and finish, and a step's running
/// bytes at most once per interval (counted from its start or its last posted report). Not thread-safe.
/// </summary>
internal sealed class ProgressThrottle(TimeSpan interval)
{
    private readonly Dictionary<string, TimeSpan> _last = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="report"/>, made <paramref name="now"/> after the build started, is posted.</summary>
    public bool ShouldPost(ImageBuildProgress report, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(report);
        switch (report.Stage)
        {
            case ImageBuildStage.Running:
                if (_last.TryGetValue(report.Step, out var last) && now - last < interval)
                {
                    return false;
                }

                _last[report.Step] = now;
                return true;
            case ImageBuildStage.Started:
                _last[report.Step] = now;
                return true;
            default:
                return true;
        }
    }
}

/// <summary>Registers the image library, builder, catalog and build service.</summary>
internal static class ImageHosting
{
    public static void AddImages(this IServiceCollection services, ImageCatalog catalog, PxeOptions options)
    {
        services.AddSingleton(catalog);
        services.AddSingleton(catalog.Library);
        services.AddSingleton(sp => new ImageBuilder(catalog.Library, options.ImageCacheDirectory, new ToolRunner(), sp.GetRequiredService<ILogger<ImageBuilder>>()));
        services.AddSingleton<ImageBuildService>();
        services.AddHostedService(sp => sp.GetRequiredService<ImageBuildService>());
    }
}
