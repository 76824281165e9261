namespace Pxe.Server.Tests.Support;

/// <summary>Finds the repository (the folder holding PxeServer.sln) from the test binaries, whatever the working directory.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    public static string Root => RootPath.Value;

    public static string Profiles => Path.Combine(Root, "profiles");

    public static string Templates => Path.Combine(Root, "templates");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PxeServer.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no PxeServer.sln above {AppContext.BaseDirectory}; run the tests from a checkout of the repository");
    }
}
