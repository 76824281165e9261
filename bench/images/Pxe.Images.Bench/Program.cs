using System.Diagnostics;
using System.Globalization;
using Pxe.Images.Building;
using Pxe.Images.Library;
using Pxe.Images.Roles;

// Times image builds through the library's ImageBuilder:
//   1. a cold generic base (debootstrap from the mirror in /etc/apt, empty cache) to a raw disk;
//   2. a role image from the cached base (the role installs packages with apt-get, adds a user, files and a unit) to raw + qcow2;
//   3. the same role again (every step from the cache);
//   4. the role with one changed file (base reused; role and disk rebuilt).
// Usage: Pxe.Images.Bench WORKDIR ROLE.yaml [--keep-cache]
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Pxe.Images.Bench WORKDIR ROLE.yaml [--keep-cache]");
    return 2;
}

var work = Path.GetFullPath(args[0]);
var cache = Path.Combine(work, "cache");
if (!args.Contains("--keep-cache") && Directory.Exists(cache))
{
    Directory.Delete(cache, recursive: true);
}

var libraryFolder = Path.Combine(work, "images");
if (Directory.Exists(libraryFolder))
{
    Directory.Delete(libraryFolder, recursive: true);
}

var library = new ImageLibrary(libraryFolder);
var builder = new ImageBuilder(library, cache);
var role = RoleYaml.Load(args[1]);
var debootstrap = new DebootstrapSource();
var rows = new List<string>();

async Task<ImageMetadata> Timed(string label, ImageRecipe recipe)
{
    var steps = new List<string>();
    var progress = new SyncProgress(p =>
    {
        if (p.Stage is ImageBuildStage.Cached or ImageBuildStage.Finished && p.Step != "store")
        {
            steps.Add($"{p.Step} {(p.Stage == ImageBuildStage.Cached ? "cached" : "built")}");
        }
    });
    var watch = Stopwatch.StartNew();
    var image = await builder.BuildAsync(recipe, progress);
    watch.Stop();
    var sizes = string.Join(", ", image.Artifacts.Select(a => $"{a.Format} {a.Size / (1 << 20)} MiB"));
    rows.Add(string.Create(CultureInfo.InvariantCulture, $"| {label} | {watch.Elapsed.TotalSeconds:F1} | {string.Join(", ", steps)} | {sizes} |"));
    Console.WriteLine(rows[^1]);
    return image;
}

await Timed("cold generic base → raw", new ImageRecipe { Name = "generic", Base = debootstrap, Formats = [ImageFormat.Raw] });
await Timed($"role '{role.Name}' from the cached base → raw + qcow2", new ImageRecipe { Name = role.Name, Base = debootstrap, Role = role, Formats = [ImageFormat.Raw, ImageFormat.Qcow2] });
await Timed($"role '{role.Name}' again (no change)", new ImageRecipe { Name = role.Name, Base = debootstrap, Role = role, Formats = [ImageFormat.Raw, ImageFormat.Qcow2] });
var changed = role with { Files = [.. role.Files, new RoleFile { Path = "/etc/bench-change", Content = DateTime.UtcNow.ToString("O") }] };
await Timed($"role '{role.Name}' with one changed file → raw + qcow2", new ImageRecipe { Name = role.Name, Base = debootstrap, Role = changed, Formats = [ImageFormat.Raw, ImageFormat.Qcow2] });

Console.WriteLine();
Console.WriteLine("| build | seconds | steps | outputs |");
Console.WriteLine("| --- | ---: | --- | --- |");
foreach (var row in rows)
{
    Console.WriteLine(row);
}

return 0;

internal sealed class SyncProgress(Action<ImageBuildProgress> report) : IProgress<ImageBuildProgress>
{
    public void Report(ImageBuildProgress value) => report(value);
}
