using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Pxe.Server.Http;

/// <summary>
/// Sends file bodies (<see cref="IHttpResponseBodyFeature.SendFileAsync"/>, which the static files of <c>/files</c> and
/// <c>Results.File</c> use) with one copy in user space instead of two: each chunk is read from the file straight into
/// the memory of Kestrel's response pipe, which the socket then sends from. Kestrel's own fallback reads into a 64 KiB
/// buffer of its own and copies that into the pipe. Status, headers, ranges and validators stay the callers' work:
/// this only moves the bytes they asked for. Used for HTTP/1.x responses, which is what firmware and installers speak.
/// </summary>
/// <remarks>
/// Kestrel's minimum response data rate (<see cref="KestrelServerLimits.MinResponseDataRate"/>, 240 bytes/s after a
/// 5 s grace period by default) gives each write time in proportion to the bytes it wrote, but it counts only bytes
/// written with <c>WriteAsync</c>: chunks written with <c>GetMemory</c> and <c>Advance</c>, as here, count as zero,
/// so each flush would get only the grace period. A slow reader (an installer in an emulated guest writing the image
/// to disk) that takes more than 5 s to drain one chunk would then have its connection closed mid-file. While a
/// file is sent, the grace period is therefore stretched to the time one chunk may take at the configured rate,
/// which is the allowance Kestrel itself gives a write of that size.
/// </remarks>
internal sealed class DirectFileBody(IHttpResponseBodyFeature inner, IHttpMinResponseDataRateFeature? minRate) : IHttpResponseBodyFeature
{
    /// <summary>
    /// Bytes read per chunk, 256 KiB: on the 100 MiB benchmark (bench/http/RESULTS.md) 64 KiB chunks reached 1.0–1.1×
    /// nginx's throughput, 256 KiB 1.5×, 1 MiB 1.3× (with 1 MiB held per connection). Kestrel's response buffer limit
    /// stays at its default (64 KiB): 1 MiB chunks under a 4 MiB limit measured no better (1.1×).
    /// </summary>
    public const int ChunkBytes = 256 * 1024;

    /// <inheritdoc />
    public Stream Stream => inner.Stream;

    /// <inheritdoc />
    public System.IO.Pipelines.PipeWriter Writer => inner.Writer;

    /// <summary>Puts this sender in front of the response's body feature, for HTTP/1.x requests.</summary>
    public static void Install(HttpContext context)
    {
        if (!HttpProtocol.IsHttp11(context.Request.Protocol) && !HttpProtocol.IsHttp10(context.Request.Protocol))
        {
            return;
        }

        var features = context.Features;
        if (features.Get<IHttpResponseBodyFeature>() is { } body and not DirectFileBody)
        {
            features.Set<IHttpResponseBodyFeature>(new DirectFileBody(body, features.Get<IHttpMinResponseDataRateFeature>()));
        }
    }

    /// <summary>
    /// The rate to apply while chunks of <paramref name="chunkBytes"/> are sent: the same bytes per second, with a
    /// grace period long enough for one chunk at that rate (never shorter than the configured one).
    /// </summary>
    public static MinDataRate? ForChunks(MinDataRate? configured, int chunkBytes)
    {
        if (configured is null)
        {
            return null;
        }

        var perChunk = TimeSpan.FromSeconds(chunkBytes / configured.BytesPerSecond);
        return perChunk <= configured.GracePeriod ? configured : new MinDataRate(configured.BytesPerSecond, perChunk);
    }

    /// <inheritdoc />
    public void DisableBuffering() => inner.DisableBuffering();

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);

    /// <inheritdoc />
    public Task CompleteAsync() => inner.CompleteAsync();

    /// <inheritdoc />
    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var length = RandomAccess.GetLength(file);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, length);
        if (count is { } c)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(c, nameof(count));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(c, length - offset, nameof(count));
        }

        var remaining = count ?? length - offset;
        var configuredRate = minRate?.MinDataRate;
        if (minRate is not null)
        {
            minRate.MinDataRate = ForChunks(configuredRate, ChunkBytes);
        }

        try
        {
            await inner.StartAsync(cancellationToken);
            var writer = inner.Writer;
            while (remaining > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var memory = writer.GetMemory((int)Math.Min(remaining, ChunkBytes));
                var want = (int)Math.Min(remaining, memory.Length);
                var read = await RandomAccess.ReadAsync(file, memory[..want], offset, cancellationToken);
                if (read == 0)
                {
                    // The file was cut short while it was being sent: the response cannot reach its Content-Length.
                    throw new EndOfStreamException($"'{path}' ended {remaining} bytes before the length being sent");
                }

                writer.Advance(read);
                offset += read;
                remaining -= read;
                var flushed = await writer.FlushAsync(cancellationToken);
                if (flushed.IsCompleted)
                {
                    // The client went away.
                    return;
                }
            }
        }
        finally
        {
            if (minRate is not null)
            {
                minRate.MinDataRate = configuredRate;
            }
        }
    }
}
