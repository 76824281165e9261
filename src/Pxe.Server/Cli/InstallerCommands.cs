using System.CommandLine;
using System.Security.Cryptography;
using Pxe.Images.Installer;
using Pxe.Images.Tools;

namespace Pxe.Server.Cli;

/// <summary>`pxe installer build` and `pxe installer hello-disk`: the image installer and its test disk, built locally.</summary>
internal static class InstallerCommands
{
    public static Command Create()
    {
        var output = new Option<string>("--output") { Description = "folder for linux, initrd.gz and installer.json", DefaultValueFactory = _ => Path.Combine("data", "files", "installer") };
        var cache = new Option<string>("--cache") { Description = "folder for the downloaded kernel package", DefaultValueFactory = _ => Path.Combine("data", "cache", "installer") };
        var kernel = new Option<string>("--kernel") { Description = "the kernel (default: the Debian installer's netboot kernel)", DefaultValueFactory = _ => InstallerBuildOptions.DebianInstallerKernel };
        var modules = new Option<string?>("--modules-root") { Description = "a folder holding lib/modules/<release> (default: download linux-image-<release> with apt-get)" };
        var build = new Command("build", "build the installer (kernel + busybox initramfs) that writes images to disk") { output, cache, kernel, modules };
        build.SetAction(async (pr, ct) =>
        {
            try
            {
                var result = await new InstallerBuilder(new ToolRunner()).BuildAsync(new InstallerBuildOptions
                {
                    OutputDirectory = pr.GetValue(output)!,
                    CacheDirectory = pr.GetValue(cache)!,
                    KernelPath = pr.GetValue(kernel)!,
                    ModulesRoot = pr.GetValue(modules),
                }, ct);
                Console.WriteLine($"installer for kernel {result.KernelRelease}: {result.KernelPath}, {result.InitrdPath} ({result.InitrdSize / 1024} KiB, {result.Modules.Count} modules)");
                if (result.MissingModules.Count > 0)
                {
                    Console.WriteLine($"not modules in this kernel (built in or absent): {string.Join(", ", result.MissingModules)}");
                }

                return 0;
            }
            catch (Exception e) when (e is InstallerBuildException or ToolException)
            {
                await Console.Error.WriteLineAsync($"pxe: {e.Message}");
                return 1;
            }
        });

        var diskOut = new Option<string>("--output") { Description = "image file to write", DefaultValueFactory = _ => Path.Combine("data", "files", "images", "hello-disk.img") };
        var hello = new Command("hello-disk", "write the hello disk: a 4 MiB image whose boot sector says it booted from disk (proves an image install end to end)") { diskOut };
        hello.SetAction(async (pr, ct) =>
        {
            var path = pr.GetValue(diskOut)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var bytes = HelloDisk.Build();
            await File.WriteAllBytesAsync(path, bytes, ct);
            Console.WriteLine($"{path}: {bytes.Length} bytes, sha256 {Convert.ToHexStringLower(SHA256.HashData(bytes))}");
            return 0;
        });

        return new Command("installer", "the PxeServer image installer") { build, hello };
    }
}
