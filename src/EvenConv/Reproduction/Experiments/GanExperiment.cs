using System.Globalization;
using EvenConv.Data;
using EvenConv.Gan;
using EvenConv.Gan.Frechet;
using EvenConv.Layers;

namespace EvenConv.Reproduction.Experiments;

/// <summary>§3.4 under EvenConv's protocol (Decisions 7–8): a DCGAN-style GAN whose every spatial convolution is the kind
/// under test, trained per kind and seed, scored by the Fréchet distance of a classifier of the same data set.</summary>
internal sealed class GanExperiment : IExperiment
{
    public string Id => "gan";
    public string Title => "Image generation with every kernel kind (§3.4)";

    public TimeSpan Estimate(Budget budget) => budget switch
    {
        Budget.Tiny => TimeSpan.FromSeconds(40),
        Budget.Quick => TimeSpan.FromMinutes(6),
        _ => TimeSpan.FromHours(3),
    };

    private sealed record Plan(IReadOnlyList<ConvKind> Kinds, int[] Seeds, int Iterations, int BatchSize, int GeneratorWidth, int DiscriminatorWidth,
        int FrechetSamples, int FeatureEpochs, int? ImageLimit);

    // Quick and full share one recipe, the smallest measured to give recognisable garments from C3 on Fashion-MNIST
    // (docs/gan.md, "The recipe"); they differ only in seeds. Tiny only proves the pipeline.
    private const int RecipeIterations = 1_000, RecipeBatch = 32, RecipeGWidth = 64, RecipeDWidth = 16, RecipeFrechetSamples = 5_000;

    private static Plan For(Budget budget) => budget switch
    {
        Budget.Tiny => new([ConvKind.C2, ConvKind.C2sp], [0], 4, 32, 32, 16, 128, 1, 512),
        Budget.Quick => new(ConvKind.PaperKinds, [0], RecipeIterations, RecipeBatch, RecipeGWidth, RecipeDWidth, RecipeFrechetSamples, 1, null),
        _ => new(ConvKind.PaperKinds, [0, 1, 2], RecipeIterations, RecipeBatch, RecipeGWidth, RecipeDWidth, RecipeFrechetSamples, 1, null),
    };

    public ExperimentResult Run(ExperimentContext context)
    {
        var plan = For(context.Budget);
        IImageDataset Open(DataSplit split)
        {
            var data = DataSets.Open(context.Data, split);
            return plan.ImageLimit is { } n ? new DatasetSubset(data, Math.Min(n, data.Count)) : data;
        }
        var train = new GanImages(Open(DataSplit.Train), 32);
        var featurePath = context.PathOf("feature-net.bin");
        if (!File.Exists(featurePath))
        {
            context.Report(0, "training the feature network for the Fréchet distance");
            FeatureNetTrainer.Train(train, new GanImages(Open(DataSplit.Test), 32), featurePath, plan.FeatureEpochs, cancellationToken: context.Cancel).Dispose();
        }
        using var extractor = FeatureNet.Load(featurePath);
        var options = new GanTrainingOptions { Iterations = plan.Iterations, BatchSize = plan.BatchSize, SampleEvery = Math.Max(plan.Iterations / 4, 1), CheckpointEvery = Math.Max(plan.Iterations / 4, 1) };
        var sweepDir = context.PathOf("sweep");
        var runs = GanSweep.Run(plan.Kinds, plan.Seeds,
            k => new GanArchitecture(k, train.Channels, 32, GeneratorWidth: plan.GeneratorWidth, DiscriminatorWidth: plan.DiscriminatorWidth).Validate(),
            options, train, extractor, plan.FrechetSamples, sweepDir,
            new InlineProgress<GanSweepProgress>(p => context.Report(0.1 + 0.9 * (p.Run + (p.Training is { } t ? (double)t.Step / t.Iterations : 0)) / p.Runs,
                $"{p.Kind} seed {p.Seed}" + (p.Training is { } tr ? string.Create(CultureInfo.InvariantCulture, $" step {tr.Step}/{tr.Iterations}") : ""))),
            context.Cancel);
        var summary = GanSweep.Summarise(runs, plan.Kinds, extractor.MetricName);
        double? Mean(string kind) => summary.Rows.Where(r => (string)r[0]! == kind).Select(r => (double?)r[2]).FirstOrDefault();
        var means = plan.Kinds.Select(k => (Kind: k.ToString(), Mean: Mean(k.ToString()))).ToList();
        var converged = means.Where(m => m.Mean is not null).OrderBy(m => m.Mean).ToList();
        var best = converged.FirstOrDefault().Kind;
        var evenSpBest = best is "c2sp" or "c4sp";
        var verdict = context.Budget == Budget.Tiny ? Verdict.Inconclusive
            : evenSpBest ? Verdict.Reproduced
            : context.Budget == Budget.Quick ? Verdict.Inconclusive : Verdict.NotReproduced;
        var text = string.Join(", ", means.Select(m => m.Mean is { } v ? string.Create(CultureInfo.InvariantCulture, $"{m.Kind} {v:F2}") : $"{m.Kind} non-convergence"));
        return new ExperimentResult(
            "Symmetric padding makes even kernels the best choice for generation: C2sp (CIFAR-10) and C4sp (LSUN, CelebA) reach the lowest FID, ahead of C3, C4 and C5, while plain C2 does not converge.",
            string.Create(CultureInfo.InvariantCulture, $"{extractor.MetricName} after {plan.Iterations} steps, {plan.Seeds.Length} seed(s): {text}; best: {best ?? "none"}."),
            verdict,
            summary.ToMarkdown("F2") + string.Create(CultureInfo.InvariantCulture,
                $"\nGenerator z(128) → 4×4 → three × [nearest ×2 upsample → Ck → BN → ReLU] → Ck → tanh; discriminator with spectral normalisation; hinge loss; Adam (2e-4, β = 0.5, 0.999); batch {options.BatchSize}; {plan.Iterations} steps at 32×32 (Fashion-MNIST padded from 28). {extractor.MetricName} is the Fréchet distance of {plan.FrechetSamples} real and generated images in the feature space of a classifier of the same data set — a proxy that ranks generators of this data set, not FID (pass Inception-v3 weights to `evenconv gan sweep --features inception:FILE` for FID). Per-run details: `sweep/gan-runs.csv`."),
            ["sweep/gan-samples.png"], ["sweep/gan-sweep.csv", "sweep/gan-sweep.json", "sweep/gan-runs.csv"]);
    }
}
