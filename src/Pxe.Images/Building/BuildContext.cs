using System.Diagnostics;
using Pxe.Images.Tools;

namespace Pxe.Images.Building;

/// <summary>What every step of one build shares: the tool runner, the cache, the build log and the progress sink.</summary>
internal sealed class BuildContext(IToolRunner tools, BuildCache cache, TextWriter log, IProgress<ImageBuildProgress>? progress, bool rebuild)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    public IToolRunner Tools { get; } = tools;

    public BuildCache Cache { get; } = cache;

    public TextWriter Log { get; } = log;

    /// <summary>The entries used by this build, in order (hits and misses), for the metadata and for tests.</summary>
    public List<CacheEntry> Entries { get; } = [];

    public ToolOptions Options(string step) => new() { Step = step, Log = Log };

    public void Report(ImageBuildProgress report) => progress?.Report(report);

    public void Note(string line)
    {
        lock (Log)
        {
            Log.WriteLine(line);
        }
    }

    /// <summary>Runs one cached step, reporting Started/Running/Finished (or Cached) with bytes, and writing it to the log.</summary>
    public async Task<CacheEntry> StepAsync(string step, StepInputs inputs, Func<string, CancellationToken, Task> build, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        using var poll = new CancellationTokenSource();
        Task? poller = null;
        var entry = await Cache.GetOrBuildAsync(step, inputs, rebuild, async (folder, token) =>
        {
            Note($"== {step}: building {inputs.Key[..16]} ({Cache.EntryPath(step, inputs.Key)})");
            Report(new ImageBuildProgress(step, ImageBuildStage.Started, 0));
            poller = PollAsync(step, folder, poll.Token);
            await build(folder, token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        await poll.CancelAsync().ConfigureAwait(false);
        if (poller is not null)
        {
            await poller.ConfigureAwait(false);
        }

        var bytes = TreeOperations.Measure(entry.Path).Bytes;
        if (entry.Hit)
        {
            Note($"== {step}: cached {entry.Key[..16]} ({entry.Path})");
            Report(new ImageBuildProgress(step, ImageBuildStage.Cached, bytes));
        }
        else
        {
            Note($"== {step}: done in {started.Elapsed.TotalSeconds:F1} s, {bytes} bytes");
            Report(new ImageBuildProgress(step, ImageBuildStage.Finished, bytes, bytes));
        }

        Entries.Add(entry);
        return entry;
    }

    private async Task PollAsync(string step, string folder, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(PollInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                long bytes;
                try
                {
                    bytes = TreeOperations.Measure(folder).Bytes;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The tree changes while we walk it; the next tick will do.
                    continue;
                }

                Report(new ImageBuildProgress(step, ImageBuildStage.Running, bytes));
            }
        }
        catch (OperationCanceledException)
        {
            // the step ended
        }
    }
}
