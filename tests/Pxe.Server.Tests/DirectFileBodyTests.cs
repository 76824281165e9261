using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Pxe.Server.Http;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>
/// File bodies read straight into the response pipe (<see cref="DirectFileBody"/>): the exact bytes asked for, across
/// chunk boundaries, with ranges, on the real server and against a bare pipe; and a reader that pauses longer than
/// Kestrel's grace period still gets the whole file.
/// </summary>
public sealed class DirectFileBodyTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "pxe-direct-file-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly byte[] _content;
    private readonly string _path;

    public DirectFileBodyTests()
    {
        Directory.CreateDirectory(_folder);
        // Three chunks and a bit: every chunk boundary and a short last chunk.
        _content = new byte[(3 * DirectFileBody.ChunkBytes) + 4097];
        new Random(7).NextBytes(_content);
        _path = Path.Combine(_folder, "kernel");
        File.WriteAllBytes(_path, _content);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(0, null)]
    [InlineData(5, null)]
    [InlineData(0, 1L)]
    [InlineData(262_140, 10L)]
    [InlineData(1000, 600_000L)]
    [InlineData(0, 0L)]
    public async Task SendFile_WritesExactlyTheSliceAskedFor_IntoThePipe(long offset, long? count)
    {
        var (body, inner, pipe) = Body();

        var received = await ReadAllAsync(pipe, body.SendFileAsync(_path, offset, count));

        var end = count is { } c ? offset + c : _content.Length;
        Assert.Equal(_content[(int)offset..(int)end], received);
        Assert.Equal(1, inner.Starts);
    }

    [Fact]
    public async Task SendFile_PastTheEnd_IsRefusedBeforeAnythingIsSent()
    {
        var (body, inner, pipe) = Body();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => body.SendFileAsync(_path, _content.Length + 1, null));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => body.SendFileAsync(_path, 10, _content.Length));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => body.SendFileAsync(_path, -1, null));
        Assert.Equal(0, inner.Starts);
        Assert.False(pipe.Reader.TryRead(out _));
    }

    [Fact]
    public async Task SendFile_WhenTheClientIsGone_StopsReading()
    {
        var (body, inner, pipe) = Body();
        await pipe.Reader.CompleteAsync();

        // The first flush reports the reader gone: the send ends quietly instead of reading the rest.
        await body.SendFileAsync(_path, 0, null);
        Assert.Equal(1, inner.Starts);
        Assert.Equal(1, ((CountingWriter)inner.Writer).Flushes);
    }

    [Fact]
    public async Task Files_OverSeveralChunks_AreServedWholeAndInRanges_ByTheServer()
    {
        await using var server = await PxeTestServer.StartAsync();
        Directory.CreateDirectory(Path.Combine(server.Dirs.Files, "big"));
        File.Copy(_path, Path.Combine(server.Dirs.Files, "big", "kernel"));

        Assert.Equal(_content, await server.Http.GetByteArrayAsync("/files/big/kernel"));

        // A range across two chunk boundaries.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/files/big/kernel");
        var from = DirectFileBody.ChunkBytes - 3;
        var to = (2 * DirectFileBody.ChunkBytes) + 3;
        request.Headers.Range = new RangeHeaderValue(from, to);
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(_content[from..(to + 1)], await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(to - from + 1, response.Content.Headers.ContentLength);
    }

    [Fact]
    public void ForChunks_GivesEachChunkTheTimeKestrelGivesAWriteOfThatSize()
    {
        // Kestrel's default: 240 bytes/s after 5 s. A 256 KiB chunk at 240 bytes/s may take 1,092 s.
        var stretched = DirectFileBody.ForChunks(new MinDataRate(240, TimeSpan.FromSeconds(5)), DirectFileBody.ChunkBytes);
        Assert.NotNull(stretched);
        Assert.Equal(240, stretched.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(DirectFileBody.ChunkBytes / 240.0), stretched.GracePeriod);

        // A rate already generous enough is kept; no rate stays no rate.
        var generous = new MinDataRate(1_000_000, TimeSpan.FromSeconds(10));
        Assert.Same(generous, DirectFileBody.ForChunks(generous, DirectFileBody.ChunkBytes));
        Assert.Null(DirectFileBody.ForChunks(null, DirectFileBody.ChunkBytes));
    }

    [Fact]
    public async Task SendFile_StretchesTheRateWhileSending_AndRestoresItAfter()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0));
        var configured = new MinDataRate(240, TimeSpan.FromSeconds(5));
        var rate = new RateFeature { MinDataRate = configured };
        var seen = new List<MinDataRate?>();
        var body = new DirectFileBody(new PipeBody(new CountingWriter(pipe.Writer, () => seen.Add(rate.MinDataRate))), rate);

        await ReadAllAsync(pipe, body.SendFileAsync(_path, 0, null));

        Assert.Equal(4, seen.Count);
        Assert.All(seen, r => Assert.Equal(TimeSpan.FromSeconds(DirectFileBody.ChunkBytes / 240.0), r!.GracePeriod));
        Assert.Same(configured, rate.MinDataRate);
    }

    [Fact]
    public async Task Files_ToAReaderThatPausesLongerThanTheGracePeriod_ArriveWhole()
    {
        // An installer in an emulated guest can stop reading for seconds while it writes to disk. Kestrel allows a
        // write 5 s by default unless the bytes are counted; the file must still arrive whole.
        await using var server = await PxeTestServer.StartAsync();
        var content = new byte[32 * 1024 * 1024];
        new Random(11).NextBytes(content);
        File.WriteAllBytes(Path.Combine(server.Dirs.Files, "image.raw"), content);

        using var client = new TcpClient { ReceiveBufferSize = 16 * 1024 };
        await client.ConnectAsync(IPAddress.Loopback, new Uri(server.Url).Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /files/image.raw HTTP/1.1\r\nHost: pxe\r\nConnection: close\r\n\r\n"));
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        var paused = false;
        int n;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while ((n = await stream.ReadAsync(buffer, deadline.Token)) > 0)
        {
            received.Write(buffer, 0, n);
            if (!paused && received.Length >= 1024 * 1024)
            {
                paused = true;
                await Task.Delay(TimeSpan.FromSeconds(8));
            }
        }

        var all = received.ToArray();
        var headerEnd = all.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(all, 0, 12));
        Assert.Equal(content.Length, all.Length - headerEnd);
        Assert.True(content.AsSpan().SequenceEqual(all.AsSpan(headerEnd)), "the body differs from the file");
    }

    private static (DirectFileBody Body, PipeBody Inner, Pipe Pipe) Body()
    {
        // A pipe that never pauses the writer, so a test can read everything after the send.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0));
        var inner = new PipeBody(new CountingWriter(pipe.Writer));
        return (new DirectFileBody(inner, null), inner, pipe);
    }

    private static async Task<byte[]> ReadAllAsync(Pipe pipe, Task send)
    {
        await send;
        await pipe.Writer.CompleteAsync();
        var all = new List<byte>();
        while (true)
        {
            var result = await pipe.Reader.ReadAsync();
            all.AddRange(result.Buffer.ToArray());
            pipe.Reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return [.. all];
            }
        }
    }

    /// <summary>The response body feature of a server whose connection is <paramref name="writer"/>.</summary>
    private sealed class PipeBody(PipeWriter writer) : IHttpResponseBodyFeature
    {
        public int Starts { get; private set; }

        public Stream Stream => throw new NotSupportedException();

        public PipeWriter Writer => writer;

        public Task CompleteAsync() => writer.CompleteAsync().AsTask();

        public void DisableBuffering()
        {
        }

        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("the fallback must not be used");

        public Task StartAsync(CancellationToken cancellationToken = default)
        {
            Starts++;
            return Task.CompletedTask;
        }
    }

    /// <summary>A response's minimum data rate setting.</summary>
    private sealed class RateFeature : IHttpMinResponseDataRateFeature
    {
        public MinDataRate? MinDataRate { get; set; }
    }

    /// <summary>A pipe writer that counts its flushes (and tells <paramref name="onFlush"/> of each).</summary>
    private sealed class CountingWriter(PipeWriter inner, Action? onFlush = null) : PipeWriter
    {
        public int Flushes { get; private set; }

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Flushes++;
            onFlush?.Invoke();
            return inner.FlushAsync(cancellationToken);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
    }
}
