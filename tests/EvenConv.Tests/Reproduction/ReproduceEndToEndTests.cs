using EvenConv.Reproduction;

namespace EvenConv.Tests.Reproduction;

/// <summary>`reproduce` end to end with the tiny budget on the default data: every experiment runs and every file the
/// report points to exists and is not empty.</summary>
public sealed class ReproduceEndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("evenconv-reproduce-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_tiny_reproduction_writes_the_report_and_every_figure_and_data_file()
    {
        var experiments = PaperExperiments.All();
        var results = new ReproductionRunner(_dir, Budget.Tiny, "fashion-mnist").Run(experiments);

        Assert.Equal(experiments.Select(e => e.Id), results.Select(r => r.Id));
        var report = File.ReadAllText(Path.Combine(_dir, "report.md"));
        Assert.Contains($"Completed {experiments.Count} of {experiments.Count} experiments", report);
        foreach (var r in results)
        {
            Assert.Contains($"## {r.Title}", report);
            Assert.False(string.IsNullOrWhiteSpace(r.Result.Claim));
            Assert.False(string.IsNullOrWhiteSpace(r.Result.Measurement));
            foreach (var figure in r.Result.Figures)
            {
                var bytes = File.ReadAllBytes(Path.Combine(_dir, r.Id, figure));
                Assert.True(bytes.Length > 2000, $"{r.Id}/{figure} is only {bytes.Length} bytes");
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
                Assert.Contains($"({r.Id}/{figure})", report);
            }
            foreach (var data in r.Result.DataFiles)
                Assert.True(new FileInfo(Path.Combine(_dir, r.Id, data)).Length > 10, $"{r.Id}/{data} is empty");
        }
    }
}
