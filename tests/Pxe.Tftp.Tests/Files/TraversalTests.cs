using System.Diagnostics;
using System.Net;
using Pxe.Tftp.Files;
using Pxe.Tftp.Protocol;
using Pxe.Tftp.Tests.Support;

namespace Pxe.Tftp.Tests.Files;

/// <summary>
/// A corpus of names that try to leave the root folder. A secret file sits next to the root and symlinks inside
/// the root point at it, at its folder and at /etc; nothing outside the root may ever be served.
/// </summary>
public sealed class TraversalTests : IDisposable
{
    private const string Secret = "TOP-SECRET-OUTSIDE-THE-ROOT";
    private readonly TempFolder _outside = new();
    private readonly string _root;

    public TraversalTests()
    {
        _outside.Write("secret.txt", Secret);
        _root = Path.Combine(_outside.Path, "root");
        Directory.CreateDirectory(Path.Combine(_root, "sub"));
        File.WriteAllText(Path.Combine(_root, "ok.txt"), "inside");
        File.WriteAllText(Path.Combine(_root, "sub", "inner.txt"), "inner");
        File.CreateSymbolicLink(Path.Combine(_root, "link-inside"), Path.Combine(_root, "ok.txt"));
        File.CreateSymbolicLink(Path.Combine(_root, "relative-inside"), "sub/inner.txt");
        File.CreateSymbolicLink(Path.Combine(_root, "link-secret"), Path.Combine(_outside.Path, "secret.txt"));
        File.CreateSymbolicLink(Path.Combine(_root, "relative-secret"), "../secret.txt");
        File.CreateSymbolicLink(Path.Combine(_root, "sub", "deep-secret"), "../../secret.txt");
        File.CreateSymbolicLink(Path.Combine(_root, "passwd"), "/etc/passwd");
        Directory.CreateSymbolicLink(Path.Combine(_root, "dir-out"), _outside.Path);
        Directory.CreateSymbolicLink(Path.Combine(_root, "etc"), "/etc");
        File.CreateSymbolicLink(Path.Combine(_root, "loop"), Path.Combine(_root, "loop"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "sub", "up"), "..");
        RunChecked("mkfifo", Path.Combine(_root, "fifo"));
    }

    public static TheoryData<string> EscapingNames()
    {
        var names = new TheoryData<string>();
        string[] corpus =
        [
            "../secret.txt", "../../etc/passwd", "../root/../secret.txt", "sub/../../secret.txt", "sub/../../../etc/passwd",
            "..", "../", "./../secret.txt", "sub/./../../secret.txt", "ok.txt/../../secret.txt",
            "..\\secret.txt", "..\\..\\etc\\passwd", "sub\\..\\..\\secret.txt", "\\..\\secret.txt", "..\\/secret.txt",
            "/../secret.txt", "//../secret.txt", "/./../secret.txt", "sub//..//..//secret.txt", "sub/.././../secret.txt",
            "/etc/passwd", "//etc/passwd", "\\etc\\passwd", "/proc/self/environ", "/root/.ssh/id_rsa",
            "%2e%2e/secret.txt", "%2e%2e%2fsecret.txt", "..%2fsecret.txt", "%252e%252e/secret.txt", "..%c0%afsecret.txt",
            "．．/secret.txt", "..%00/secret.txt", "..;/secret.txt", "...//secret.txt", "....//....//secret.txt",
            "link-secret", "relative-secret", "sub/deep-secret", "passwd", "dir-out/secret.txt",
            "/dir-out/secret.txt", "etc/passwd", "etc/shadow", "sub/up/../secret.txt", "sub/up/link-secret",
            "loop", "fifo", "dir-out/root/link-secret", "sub/up/dir-out/secret.txt", "file:///etc/passwd",
            "C:/secret.txt", "C:\\..\\secret.txt", "\\\\server\\share\\secret.txt", "sub/..", "sub/../",
            new string('a', 256), string.Concat(Enumerable.Repeat("../", 100)) + "etc/passwd", "sub/" + new string('b', 300),
        ];
        foreach (var name in corpus)
        {
            names.Add(name);
        }

        return names;
    }

    [Fact]
    public void Corpus_HasAtLeastFiftyCases() => Assert.True(EscapingNames().Count >= 50);

    [Theory]
    [MemberData(nameof(EscapingNames))]
    public async Task EscapingName_IsNeverServedThroughTheServer(string name)
    {
        await using var server = await StartServerAsync();
        using var client = new RawTftpClient(server.EndPoint);
        client.SendRequest(name);
        var (reply, _) = await client.ExpectAsync();
        var (code, _) = RawTftpClient.ParseError(reply);
        Assert.True(code is TftpErrorCode.FileNotFound or TftpErrorCode.AccessViolation, $"{name}: {code}");
        Assert.DoesNotContain(Secret, System.Text.Encoding.UTF8.GetString(reply));
    }

    [Theory]
    [InlineData("a\0../secret.txt")]
    [InlineData("ok.txt\0")]
    public async Task NulByteInName_IsRefusedBeforeAnyLookup(string name)
    {
        var source = new RootFolderFileSource(_root);
        var lookup = await source.FindAsync(name, new IPEndPoint(IPAddress.Loopback, 1), CancellationToken.None);
        Assert.Equal(TftpLookupStatus.AccessViolation, lookup.Status);
        Assert.Equal(TftpPathStatus.NulByte, TftpPath.TryNormalize(name, 255, out _));
    }

    [Fact]
    public async Task NulByteOnTheWire_EndsTheNameAndNeverReachesTheFileSystem()
    {
        await using var server = await StartServerAsync();
        using var client = new RawTftpClient(server.EndPoint);
        client.Send([0, 1, .. "ok.txt\0../secret.txt\0octet\0"u8]);
        var (reply, _) = await client.ExpectAsync();
        Assert.Equal(TftpErrorCode.IllegalOperation, RawTftpClient.ParseError(reply).Code);
    }

    [Theory]
    [InlineData("ok.txt", "inside")]
    [InlineData("/ok.txt", "inside")]
    [InlineData("sub/inner.txt", "inner")]
    [InlineData("sub\\inner.txt", "inner")]
    [InlineData("link-inside", "inside")]
    [InlineData("relative-inside", "inner")]
    [InlineData("sub/up/ok.txt", "inside")]
    public async Task NamesInsideTheRoot_AreServed_IncludingSymlinksThatStayInside(string name, string expected)
    {
        await using var server = await StartServerAsync();
        using var client = new RawTftpClient(server.EndPoint);
        var (content, _) = await client.DownloadAsync(name);
        Assert.Equal(expected, System.Text.Encoding.UTF8.GetString(content));
    }

    [Theory]
    [InlineData("link-secret", TftpLookupStatus.AccessViolation)]
    [InlineData("relative-secret", TftpLookupStatus.AccessViolation)]
    [InlineData("dir-out/secret.txt", TftpLookupStatus.AccessViolation)]
    [InlineData("passwd", TftpLookupStatus.AccessViolation)]
    [InlineData("loop", TftpLookupStatus.AccessViolation)]
    [InlineData("fifo", TftpLookupStatus.AccessViolation)]
    [InlineData("sub", TftpLookupStatus.NotFound)]
    [InlineData("missing", TftpLookupStatus.NotFound)]
    [InlineData("ok.txt/x", TftpLookupStatus.NotFound)]
    public async Task RootFolderSource_ClassifiesEachCase(string name, TftpLookupStatus expected)
    {
        var source = new RootFolderFileSource(_root);
        var stopwatch = Stopwatch.StartNew();
        var lookup = await source.FindAsync(name, new IPEndPoint(IPAddress.Loopback, 1), CancellationToken.None);
        Assert.Equal(expected, lookup.Status);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), "a FIFO must not block the lookup");
    }

    [Fact]
    public void RootFolderSource_MissingRoot_SaysHowToFixIt()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => new RootFolderFileSource(Path.Combine(_outside.Path, "nope")));
        Assert.Contains("RootFolder", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _outside.Dispose();

    private Task<TestServer> StartServerAsync() =>
        TestServer.StartAsync(o => o with { RootFolder = _root }, _ => new RootFolderFileSource(_root));

    private static void RunChecked(string file, string argument)
    {
        using var process = Process.Start(file, [argument]);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
    }
}
