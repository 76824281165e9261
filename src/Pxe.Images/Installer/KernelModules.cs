using System.Text;

namespace Pxe.Images.Installer;

/// <summary>
/// The kernel modules of one release unpacked in a folder (<c>lib/modules/&lt;release&gt;/kernel/…</c>): finds modules
/// by name and closes a wanted list over their dependencies, read from each module's <c>.modinfo</c> strings.
/// </summary>
public sealed class KernelModules
{
    private readonly Dictionary<string, string> _byName;

    private KernelModules(string root, Dictionary<string, string> byName)
    {
        Root = root;
        _byName = byName;
    }

    /// <summary>The <c>lib/modules/&lt;release&gt;</c> folder.</summary>
    public string Root { get; }

    /// <summary>Indexes the modules under <paramref name="releaseFolder"/> (<c>…/lib/modules/&lt;release&gt;</c>).</summary>
    /// <exception cref="DirectoryNotFoundException">The folder has no <c>kernel/</c> sub-folder.</exception>
    public static KernelModules Load(string releaseFolder)
    {
        var kernel = Path.Combine(releaseFolder, "kernel");
        if (!Directory.Exists(kernel))
        {
            throw new DirectoryNotFoundException($"{releaseFolder} holds no kernel/ folder of modules");
        }

        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(kernel, "*.ko", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            byName.TryAdd(Canonical(Path.GetFileNameWithoutExtension(file)), Path.GetRelativePath(releaseFolder, file).Replace('\\', '/'));
        }

        return new KernelModules(releaseFolder, byName);
    }

    /// <summary>The module's path relative to <see cref="Root"/>, or null when this kernel has no such module (it may be built in).</summary>
    public string? PathOf(string name) => _byName.GetValueOrDefault(Canonical(name));

    /// <summary>
    /// <paramref name="wanted"/> plus everything they depend on, dependencies first (the order <c>insmod</c> needs),
    /// and the wanted names this kernel does not have as modules.
    /// </summary>
    public (IReadOnlyList<string> Ordered, IReadOnlyList<string> Missing) Close(IEnumerable<string> wanted)
    {
        var ordered = new List<string>();
        var missing = new List<string>();
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);

        void Visit(string name)
        {
            if (done.Contains(name) || !visiting.Add(name))
            {
                return;
            }

            foreach (var dep in Dependencies(name))
            {
                Visit(dep);
            }

            visiting.Remove(name);
            done.Add(name);
            ordered.Add(name);
        }

        foreach (var name in wanted.Select(Canonical))
        {
            if (_byName.ContainsKey(name))
            {
                Visit(name);
            }
            else
            {
                missing.Add(name);
            }
        }

        return (ordered, missing);
    }

    /// <summary>The <c>depends=</c> list of a module (canonical names), from its <c>.modinfo</c> strings.</summary>
    public IReadOnlyList<string> Dependencies(string name)
    {
        var path = PathOf(name) ?? throw new ArgumentException($"no module '{name}'", nameof(name));
        var bytes = File.ReadAllBytes(Path.Combine(Root, path));
        var marker = "\0depends="u8;
        var at = bytes.AsSpan().IndexOf(marker);
        if (at < 0)
        {
            return [];
        }

        var start = at + marker.Length;
        var end = Array.IndexOf(bytes, (byte)0, start);
        var list = Encoding.ASCII.GetString(bytes, start, (end < 0 ? bytes.Length : end) - start);
        return list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Canonical).Where(_byName.ContainsKey).ToList();
    }

    /// <summary>modules.dep as busybox modprobe reads it, for <paramref name="modules"/> (canonical names, dependencies first).</summary>
    public string ModulesDep(IReadOnlyList<string> modules)
    {
        var text = new StringBuilder();
        foreach (var m in modules)
        {
            text.Append(PathOf(m)).Append(':');
            foreach (var d in Closure(m))
            {
                text.Append(' ').Append(PathOf(d));
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    private List<string> Closure(string name)
    {
        // modules.dep lists a module's dependencies nearest first
        return Close(Dependencies(name)).Ordered.Reverse().ToList();
    }

    private static string Canonical(string name) => name.Replace('-', '_');
}
