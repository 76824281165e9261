using Pxe.Tftp.Protocol;

namespace Pxe.Tftp.Tests.Protocol;

public class NetasciiTests
{
    [Theory]
    [InlineData("", "")]
    [InlineData("abc", "abc")]
    [InlineData("a\nb\n", "a\r\nb\r\n")]
    [InlineData("a\rb", "a\r\0b")]
    [InlineData("a\r\nb", "a\r\0\r\nb")]
    public void Encode_SendsLineEndsAsCrLfAndBareCrAsCrNul(string source, string expected)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(source);
        var encoded = Netascii.Encode(bytes);
        Assert.Equal(System.Text.Encoding.ASCII.GetBytes(expected), encoded);
        Assert.Equal(encoded.Length, Netascii.EncodedLength(bytes));
    }
}
