using EvenConv.Complexity;
using EvenConv.Layers;
using EvenConv.Models;

namespace EvenConv.Tests.Models;

/// <summary>The ImageNet table of paper §3.3, counted from the real models at 224×224 with 1000 classes (one count per
/// row: these are the most expensive tests of the area).</summary>
public class ImageNetTableTests
{
    public static TheoryData<string, string, double, double> PaperRows => new()
    {
        // model, conv, params (M) and MACs (M) as printed in the paper's table.
        { "resnet50", "c3", 25.5, 4089 },
        { "resnet50", "c2sp", 19.3, 3062 },
        { "densenet121", "c3", 8.0, 2834 },
        { "densenet121", "c2sp", 6.7, 2143 },
        { "resnet50_0.5x", "c3", 6.9, 1127 },
        { "resnet50_0.5x", "c2", 5.3, 870 },
        { "resnet50_0.5x", "c2sp", 5.3, 870 },
        { "resnet50_c2sp_optim", "c2sp", 5.8, 573 },
        { "shufflenetv2_2.0", "c3", 7.4, 591 },
        { "mobilenetv2_1.4", "c3", 6.1, 582 },
    };

    [Theory]
    [MemberData(nameof(PaperRows))]
    public void Counts_match_the_paper_table(string model, string conv, double paperParamsM, double paperMacsM)
    {
        var options = ModelOptions.ImageNet(ConvKind.Parse(conv));
        using var net = ModelRegistry.Create(model, options);
        var report = ModelComplexity.Count(net, options);

        // The table's parameter cells are rounded in some rows and truncated in others (DenseNet-121 C2sp: 6.79M is
        // printed 6.7; ResNet-50 0.5x C2: 5.35M is printed 5.3), so a cell must be one of the two.
        var paramsM = report.Params / 1e6;
        Assert.True(Math.Round(paramsM, 1) == paperParamsM || Math.Floor(paramsM * 10) / 10 == paperParamsM,
            $"{model} {conv}: {paramsM:F3}M params, paper {paperParamsM}M");

        var macsM = report.Macs / 1e6;
        var tolerance = model switch
        {
            // The paper prints ShuffleNetV2's own paper's figure (591M); the authors' counting rules give ~583M.
            "shufflenetv2_2.0" => 9.0,
            // 574.1M counted; 572.6M without the FC layer. The authors' count for this model seems to leave out the
            // FC that follows its dropout (their ResNet-50 count, 4,089,184,256, does include the FC).
            "resnet50_c2sp_optim" => 1.6,
            _ => 1.0,
        };
        Assert.True(Math.Abs(macsM - paperMacsM) <= tolerance, $"{model} {conv}: {macsM:F1}M MACs, paper {paperMacsM}M");

        // Where the authors' logs print the count to the unit, it must match to the unit.
        long? logged = (model, conv) switch
        {
            ("resnet50", "c3") => 4_089_184_256,
            ("densenet121", "c3") => 2_834_161_664,
            ("shufflenetv2_2.0", "c3") => 583_253_464, // not logged: what the authors' rules give, pinned
            _ => null,
        };
        if (logged is long exact) Assert.Equal(exact, report.Macs);
    }
}
