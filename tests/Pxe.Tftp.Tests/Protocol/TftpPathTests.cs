using Pxe.Tftp.Protocol;

namespace Pxe.Tftp.Tests.Protocol;

public class TftpPathTests
{
    [Theory]
    [InlineData("pxelinux.0", "pxelinux.0")]
    [InlineData("/grub/grub.cfg", "grub/grub.cfg")]
    [InlineData("//grub///x86_64-efi//command.lst", "grub/x86_64-efi/command.lst")]
    [InlineData("boot\\pxelinux.0", "boot/pxelinux.0")]
    [InlineData("\\boot\\\\ipxe.efi", "boot/ipxe.efi")]
    [InlineData("./pxelinux.cfg/./default", "pxelinux.cfg/default")]
    [InlineData("/grub/mac/52:54:00:d1:00:2c.cfg", "grub/mac/52:54:00:d1:00:2c.cfg")]
    [InlineData("pxelinux.cfg/01-52-54-00-d1-00-0b", "pxelinux.cfg/01-52-54-00-d1-00-0b")]
    [InlineData("...", "...")]
    [InlineData("a..b", "a..b")]
    public void TryNormalize_ProducesTheSourceForm(string raw, string expected)
    {
        Assert.Equal(TftpPathStatus.Ok, TftpPath.TryNormalize(raw, 255, out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("../etc/passwd", TftpPathStatus.ParentSegment)]
    [InlineData("a/../../b", TftpPathStatus.ParentSegment)]
    [InlineData("a/..", TftpPathStatus.ParentSegment)]
    [InlineData("..\\..\\etc\\passwd", TftpPathStatus.ParentSegment)]
    [InlineData("/", TftpPathStatus.Empty)]
    [InlineData("./", TftpPathStatus.Empty)]
    [InlineData("a\0b", TftpPathStatus.NulByte)]
    [InlineData("a\nb", TftpPathStatus.ControlCharacter)]
    [InlineData("a\x7f", TftpPathStatus.ControlCharacter)]
    public void TryNormalize_RefusesUnsafeNames(string raw, TftpPathStatus expected)
    {
        Assert.Equal(expected, TftpPath.TryNormalize(raw, 255, out _));
    }

    [Fact]
    public void TryNormalize_CountsLengthInUtf8Bytes()
    {
        Assert.Equal(TftpPathStatus.Ok, TftpPath.TryNormalize(new string('a', 255), 255, out _));
        Assert.Equal(TftpPathStatus.TooLong, TftpPath.TryNormalize(new string('a', 256), 255, out _));
        Assert.Equal(TftpPathStatus.TooLong, TftpPath.TryNormalize(new string('é', 128), 255, out _));
    }
}
