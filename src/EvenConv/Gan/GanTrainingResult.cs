using System.Text.Json.Serialization;

namespace EvenConv.Gan;

/// <summary>How a GAN run ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<GanOutcome>))]
public enum GanOutcome
{
    /// <summary>Trained for every requested step.</summary>
    Completed,
    /// <summary>Stopped by the divergence monitor (NaN, or a discriminator that won outright for long).</summary>
    DidNotConverge,
}

/// <summary>The end of a GAN run, as written to <c>result.json</c>.</summary>
/// <param name="Outcome">Completed or did not converge.</param>
/// <param name="Reason">Why it did not converge; null when completed.</param>
/// <param name="Steps">Generator steps trained.</param>
/// <param name="Seconds">Training wall time over all sessions of the run (resumes included).</param>
/// <param name="DiscriminatorLoss">Mean discriminator loss over the last 100 steps.</param>
/// <param name="GeneratorLoss">Mean generator loss over the last 100 steps.</param>
public sealed record GanTrainingResult(GanOutcome Outcome, string? Reason, int Steps, double Seconds, double DiscriminatorLoss, double GeneratorLoss)
{
    /// <summary>"completed" or "did not converge: reason".</summary>
    public string Describe() => Outcome == GanOutcome.Completed ? "completed" : $"did not converge: {Reason}";
}

/// <summary>One line of <c>losses.jsonl</c>.</summary>
/// <param name="Step">Generator step, from 1.</param>
/// <param name="DLoss">Discriminator hinge loss of the step (last discriminator step).</param>
/// <param name="GLoss">Generator loss −mean D(G(z)).</param>
/// <param name="DReal">Mean discriminator score of the real batch.</param>
/// <param name="DFake">Mean discriminator score of the generated batch.</param>
/// <param name="Seconds">Wall time of the step.</param>
public sealed record GanStepLog(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("d_loss")] double DLoss,
    [property: JsonPropertyName("g_loss")] double GLoss,
    [property: JsonPropertyName("d_real")] double DReal,
    [property: JsonPropertyName("d_fake")] double DFake,
    [property: JsonPropertyName("seconds")] double Seconds);

/// <summary>Progress of a running GAN training, for progress bars and logs.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="Iterations">Steps requested.</param>
/// <param name="DLoss">Discriminator loss of the last step.</param>
/// <param name="GLoss">Generator loss of the last step.</param>
/// <param name="ImagesPerSecond">Real images consumed per second, recent average.</param>
/// <param name="Eta">Estimated time to the last step.</param>
public sealed record GanProgress(int Step, int Iterations, double DLoss, double GLoss, double ImagesPerSecond, TimeSpan Eta);
