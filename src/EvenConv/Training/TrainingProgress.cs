namespace EvenConv.Training;

/// <summary>
/// A progress report from <see cref="Trainer"/>: after every step (<see cref="EpochDone"/> null), at the end of each
/// epoch (<see cref="EpochDone"/> set), or a note (<see cref="Message"/> set). Loss is the running mean of the epoch.
/// </summary>
public sealed record TrainingProgress(
    int Epoch, int Epochs, int Batch, int Batches, double Loss, double ImagesPerSecond, double LearningRate, TimeSpan Eta,
    EpochMetrics? EpochDone = null, string? Message = null);

/// <summary>The summary of a finished run, saved as result.json in the run directory.</summary>
public sealed record TrainingResult(
    string Model, string Conv, string Data, ulong Seed, int Epochs, long Parameters,
    double FinalTestError, double BestTestError, int BestEpoch, double FinalTrainLoss,
    double TrainSeconds, double ImagesPerSecond, double StallSeconds, long PeakMemoryBytes);
