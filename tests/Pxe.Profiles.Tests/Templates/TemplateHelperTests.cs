using Pxe.Profiles.Templates;
using static Pxe.Profiles.Tests.Templates.TemplateTestSupport;

namespace Pxe.Profiles.Tests.Templates;

public sealed class TemplateHelperTests
{
    private static readonly Dictionary<string, object?> Values = new(StringComparer.Ordinal)
    {
        ["empty"] = "",
        ["name"] = "web01",
        ["none"] = null,
        ["list"] = new List<object?> { "a", "b", 3L },
        ["nolist"] = new List<object?>(),
        ["multi"] = "one\ntwo\n\nthree",
        ["crlf"] = "one\r\ntwo",
        ["quote"] = "it's \"x\" $HOME `id`",
        ["url_text"] = "a b/c?d=e&f=ü~",
        ["mirror"] = "https://deb.example.net:8443/debian/dists?x=1",
        ["plain_mirror"] = "http://deb.example.net",
        ["action"] = "install",
        ["n"] = 24L,
        ["yes"] = true,
        ["args"] = "initrd=x.gz  url=http://h/i?a=1&b=2 ds=nocloud;s=http://h/ opt=\"a b\" it's",
    };

    public static TheoryData<string, string> Cases => new()
    {
        { "{{default name \"x\"}}", "web01" },
        { "{{default empty \"x\"}}", "x" },
        { "{{default none \"x\"}}", "x" },
        { "{{default undefined_name \"x\"}}", "x" },
        { "{{default nolist \"x\"}}", "x" },
        { "{{default n 1}}", "24" },
        { "{{join list \",\"}}", "a,b,3" },
        { "{{join list \" \"}}", "a b 3" },
        { "{{join nolist \",\"}}", "" },
        { "{{join none \",\"}}", "" },
        { "[{{indent multi 4}}]", "[one\n    two\n\n    three]" },
        { "[{{indent crlf 2}}]", "[one\r\n  two]" },
        { "[{{indent name 8}}]", "[web01]" },
        { "[{{indent multi 0}}]", "[one\ntwo\n\nthree]" },
        { "{{url url_text}}", "a%20b%2Fc%3Fd%3De%26f%3D%C3%BC~" },
        { "{{url name}}", "web01" },
        { "{{shell name}}", "'web01'" },
        { "{{shell empty}}", "''" },
        { "{{shell quote}}", "'it'\\''s \"x\" $HOME `id`'" },
        { "{{#if (eq action \"install\")}}yes{{else}}no{{/if}}", "yes" },
        { "{{#if (eq action \"local\")}}yes{{else}}no{{/if}}", "no" },
        { "{{#if (eq n \"24\")}}yes{{else}}no{{/if}}", "yes" },
        { "{{eq name \"web01\"}}", "True" },
        { "{{urlpart mirror \"scheme\"}}", "https" },
        { "{{urlpart mirror \"host\"}}", "deb.example.net" },
        { "{{urlpart mirror \"port\"}}", "8443" },
        { "{{urlpart mirror \"authority\"}}", "deb.example.net:8443" },
        { "{{urlpart mirror \"path\"}}", "/debian/dists?x=1" },
        { "{{urlpart plain_mirror \"authority\"}}", "deb.example.net" },
        { "{{urlpart plain_mirror \"port\"}}", "80" },
        { "{{urlpart plain_mirror \"path\"}}", "/" },
        { "{{shell (default empty \"fallback\")}}", "'fallback'" },
        { "{{yes}}", "True" },
        { "{{shellwords args}}", "'initrd=x.gz' 'url=http://h/i?a=1&b=2' 'ds=nocloud;s=http://h/' 'opt=\"a b\"' 'it'\\''s'" },
        { "[{{shellwords empty}}]", "[]" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Helper_RendersAsDocumented(string source, string expected)
    {
        using var dir = Write(("t", source));

        Assert.Equal(expected, RenderOk(LoadOk(dir.Directory), "t", Values));
    }

    [Theory]
    [InlineData("{{join name \",\"}}", "join expects a list")]
    [InlineData("{{indent multi 65}}", "indent expects a whole number")]
    [InlineData("{{indent multi \"-1\"}}", "indent expects a whole number")]
    [InlineData("{{shell list}}", "shell expects a single value")]
    [InlineData("{{url list}}", "url expects a single value")]
    [InlineData("{{urlpart name \"host\"}}", "urlpart expects an absolute URL")]
    [InlineData("{{urlpart mirror \"user\"}}", "urlpart part must be")]
    public void Helper_GivenWrongValue_FailsTheRenderWithAFix(string source, string message)
    {
        using var dir = Write(("t", source));

        var result = LoadOk(dir.Directory).Render("t", Values);

        Assert.False(result.Succeeded);
        Assert.Contains(message, result.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(1, result.Error.Line);
    }

    [Fact]
    public void Helpers_AreExactlyTheDocumentedPureSet()
    {
        Assert.Equal(["default", "eq", "indent", "join", "shell", "shellwords", "url", "urlpart"], TemplateHelpers.Arity.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void InternalOptionalHelper_CannotBeCalledFromATemplate()
    {
        using var dir = Write(("t", "{{__pxe_optional \"../../etc/passwd\"}}"));

        var result = TemplateLibrary.Load(dir.Directory);

        Assert.False(result.Succeeded);
        Assert.Contains("unknown helper '__pxe_optional'", result.Errors[0].Message, StringComparison.Ordinal);
    }
}
