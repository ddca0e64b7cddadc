using EvenConv.Reproduction;

namespace EvenConv.Tests.Reproduction;

public sealed class ReproductionRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("evenconv-repro-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes one data file and one (fake) figure, counts its runs, and can be told to stop as if interrupted.</summary>
    private sealed class FakeExperiment(string id, bool interrupt = false) : IExperiment
    {
        public int Runs { get; private set; }
        public string Id => id;
        public string Title => $"Experiment {id}";
        public TimeSpan Estimate(Budget budget) => TimeSpan.FromSeconds(1);

        public ExperimentResult Run(ExperimentContext context)
        {
            Runs++;
            if (interrupt) throw new OperationCanceledException();
            File.WriteAllText(context.PathOf("data.csv"), "a,b\n1,2\n");
            File.WriteAllBytes(context.PathOf("plot.png"), [0x89, 0x50]);
            context.Report(1, "done");
            return new ExperimentResult($"claim {id}", $"measured {id}", Verdict.Reproduced, "| x |\n|---|\n| 1 |", ["plot.png"], ["data.csv"]);
        }
    }

    [Fact]
    public void Writes_a_report_with_every_experiment_its_verdict_and_its_files()
    {
        var experiments = new[] { new FakeExperiment("one"), new FakeExperiment("two") };
        var results = new ReproductionRunner(_dir, Budget.Tiny, "fashion-mnist").Run(experiments);

        Assert.Equal(["one", "two"], results.Select(r => r.Id));
        var report = File.ReadAllText(Path.Combine(_dir, "report.md"));
        Assert.Contains("Completed 2 of 2 experiments", report);
        Assert.Contains("| claim one | measured one | reproduced |", report);
        Assert.Contains("![plot.png](two/plot.png)", report);
        Assert.Contains("[data.csv](one/data.csv)", report);
        Assert.True(File.Exists(Path.Combine(_dir, "one", "result.json")));
    }

    [Fact]
    public void An_interrupted_run_resumes_at_the_experiment_it_was_on()
    {
        var first = new FakeExperiment("first");
        Assert.Throws<OperationCanceledException>(() =>
            new ReproductionRunner(_dir, Budget.Tiny, "x").Run([first, new FakeExperiment("second", interrupt: true)]));
        Assert.Contains("Completed 1 of 2", File.ReadAllText(Path.Combine(_dir, "report.md")));

        var again = new FakeExperiment("first");
        var second = new FakeExperiment("second");
        var results = new ReproductionRunner(_dir, Budget.Tiny, "x").Run([again, second]);

        Assert.Equal(0, again.Runs);
        Assert.Equal(1, second.Runs);
        Assert.Equal(2, results.Count);
        Assert.Equal("measured first", results[0].Result.Measurement);
    }

    [Fact]
    public void A_different_budget_reruns_finished_experiments()
    {
        new ReproductionRunner(_dir, Budget.Tiny, "x").Run([new FakeExperiment("e")]);
        var rerun = new FakeExperiment("e");
        new ReproductionRunner(_dir, Budget.Quick, "x").Run([rerun]);
        Assert.Equal(1, rerun.Runs);
    }

    [Fact]
    public void A_damaged_result_record_is_rerun_rather_than_trusted()
    {
        new ReproductionRunner(_dir, Budget.Tiny, "x").Run([new FakeExperiment("e")]);
        File.WriteAllText(Path.Combine(_dir, "e", "result.json"), "{ truncated");
        var rerun = new FakeExperiment("e");
        new ReproductionRunner(_dir, Budget.Tiny, "x").Run([rerun]);
        Assert.Equal(1, rerun.Runs);
    }

    [Fact]
    public void Unknown_experiment_ids_are_named_with_the_valid_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => PaperExperiments.Select("shift,nonsense"));
        Assert.Contains("nonsense", e.Message);
        Assert.Contains("erosion", e.Message);
        Assert.Equal(["shift"], PaperExperiments.Select("shift").Select(x => x.Id));
    }
}
