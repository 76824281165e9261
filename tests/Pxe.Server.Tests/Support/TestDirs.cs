namespace Pxe.Server.Tests.Support;

/// <summary>
/// A private temp folder per test: a copy of the repository's profiles/ and templates/ (tests edit them, and the server
/// rewrites spec files on API changes) and an empty data directory. Deleted on dispose.
/// </summary>
internal sealed class TestDirs : IDisposable
{
    private TestDirs(string root)
    {
        Root = root;
        Spec = Path.Combine(root, "profiles");
        Templates = Path.Combine(root, "templates");
        Data = Path.Combine(root, "data");
    }

    public string Root { get; }

    public string Spec { get; }

    public string Templates { get; }

    public string Data { get; }

    public string Files => Path.Combine(Data, "files");

    public static TestDirs Create()
    {
        var root = Path.Combine(Path.GetTempPath(), "pxe-server-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        var dirs = new TestDirs(root);
        CopyTree(RepoPaths.Profiles, dirs.Spec);
        CopyTree(RepoPaths.Templates, dirs.Templates);
        return dirs;
    }

    /// <summary>Writes (or replaces) a spec file, relative to the spec directory.</summary>
    public void WriteSpec(string relative, string yaml) => File.WriteAllText(Path.Combine(Spec, relative), yaml);

    public string ReadSpec(string relative) => File.ReadAllText(Path.Combine(Spec, relative));

    public Task<string> ReadSpecAsync(string relative) => File.ReadAllTextAsync(Path.Combine(Spec, relative));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a server being torn down; the temp folder is reclaimed by the OS.
        }
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
