using System.CommandLine;
using System.Text.Json;
using EvenConv.Cli.Commands;

namespace EvenConv.Tests.Models;

public class ModelsCommandTests
{
    [Theory]
    [InlineData("32", 32, 32), InlineData("224x200", 224, 200), InlineData("28×28", 28, 28)]
    public void Input_sizes_parse(string text, int h, int w) => Assert.Equal((h, w), ModelsCommand.ParseSize(text));

    [Theory]
    [InlineData("0"), InlineData("32x"), InlineData("ax3"), InlineData("1x2x3")]
    public void Bad_input_sizes_name_the_fix(string text) =>
        Assert.Contains("HxW", Assert.Throws<ArgumentException>(() => ModelsCommand.ParseSize(text)).Message, StringComparison.Ordinal);

    [Fact]
    public void Summary_json_has_the_integer_counts()
    {
        var path = Path.Combine(Path.GetTempPath(), $"evenconv-summary-{Guid.NewGuid():N}.json");
        try
        {
            var root = new RootCommand { ModelsCommand.Create() };
            var code = root.Parse(["models", "summary", "resnet20", "--conv", "c2sp", "--input", "28", "--in-channels", "1", "--json", path]).Invoke();
            Assert.Equal(0, code);
            using var json = JsonDocument.Parse(File.ReadAllText(path));
            var r = json.RootElement;
            Assert.Equal("resnet20", r.GetProperty("model").GetString());
            Assert.Equal("c2sp", r.GetProperty("conv").GetString());
            // Stem 1→16 3×3 (144) + the C2sp ResNet-20 body and head of the CIFAR count (123,792 − 432).
            Assert.Equal(123_792 - 432 + 144, r.GetProperty("params").GetInt64());
            Assert.True(r.GetProperty("macs").GetInt64() > 0);
            Assert.True(r.GetProperty("activation_bytes_per_image").GetInt64() > 0);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
