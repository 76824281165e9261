using Pxe.Images.Building;

namespace Pxe.Images.Tests.Building;

public sealed class TreeMeasureTests
{
    [Fact]
    public void Measure_CountsAMergedUsrTreeOnce_NotThroughItsSymlinkedDirectories()
    {
        var root = Directory.CreateTempSubdirectory("pxe-measure-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "usr", "lib", "modules"));
            File.WriteAllBytes(Path.Combine(root, "usr", "lib", "modules", "big.ko"), new byte[10 * 4096]);
            File.CreateSymbolicLink(Path.Combine(root, "lib"), "usr/lib");
            File.CreateSymbolicLink(Path.Combine(root, "lib64"), "usr/lib");

            var (bytes, _) = TreeOperations.Measure(root);

            // usr, usr/lib, usr/lib/modules (one block each) and the file: the links add nothing.
            Assert.Equal((3 + 10) * 4096L, bytes);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
