using Pxe.Profiles.Domain;

namespace Pxe.Profiles.Tests.Domain;

public class MacAddressTests
{
    [Theory]
    [InlineData("52:54:00:12:34:56")]
    [InlineData("52-54-00-12-34-56")]
    [InlineData("52:54:00:12:34:56 ")]
    [InlineData("5254.0012.3456")]
    [InlineData("525400123456")]
    [InlineData(" 5254.0012.3456")]
    [InlineData("01-52-54-00-12-34-56")]
    public void Parse_AcceptsCommonNotations_AndStoresCanonical(string text)
    {
        Assert.True(MacAddress.TryParse(text, out var mac, out var error), error);
        Assert.Equal("52:54:00:12:34:56", mac.ToString());
        Assert.Equal("52-54-00-12-34-56", mac.ToHyphenString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("52:54:00:12:34")]
    [InlineData("52:54:00:12:34:56:78")]
    [InlineData("52:54-00:12:34:56")]
    [InlineData("52:54:00:12:34:5g")]
    [InlineData("5254.0012.345")]
    [InlineData("52::54:00:12:34:56")]
    [InlineData("../../etc/passwd")]
    public void Parse_RejectsMalformed_WithAMessageNamingTheNotations(string text)
    {
        Assert.False(MacAddress.TryParse(text, out _, out var error));
        Assert.Contains("52:54:00:12:34:56", error);
    }

    [Fact]
    public void Parse_IsCaseInsensitive_AndPrintsLowerCase() =>
        Assert.Equal("de:ad:be:ef:ca:fe", MacAddress.Parse("DE-AD-BE-EF-CA-FE").ToString());

    [Fact]
    public void Bytes_RoundTrip()
    {
        byte[] bytes = [0xde, 0xad, 0xbe, 0xef, 0x00, 0x01];
        var mac = MacAddress.FromBytes(bytes);
        var back = new byte[6];
        mac.CopyTo(back);
        Assert.Equal(bytes, back);
        Assert.Equal("de:ad:be:ef:00:01", mac.ToString());
        Assert.Equal(0xdeadbeef0001UL, mac.Value);
    }
}
