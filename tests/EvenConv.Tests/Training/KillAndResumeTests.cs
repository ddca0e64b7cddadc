using System.Diagnostics;
using EvenConv.Tests.Data;
using EvenConv.Training;

namespace EvenConv.Tests.Training;

/// <summary>Starts the real CLI as a child process, kills it (SIGKILL) mid-epoch, resumes it, and compares the result
/// with an uninterrupted run: weights, BatchNorm statistics, momentum buffers and metrics must be identical.</summary>
public sealed class KillAndResumeTests : IDisposable
{
    private readonly TestData _data = new();
    public void Dispose() => _data.Dispose();

    private static Process Start(string output, string dataDir, bool resume, params string[] extra)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EvenConv.Cli.dll"));
        foreach (var arg in new[] { "train", "--out", output, "--checkpoint-steps", "1", "--threads", "1" }.Concat(extra)) info.ArgumentList.Add(arg);
        if (resume) info.ArgumentList.Add("--resume");
        else
            foreach (var arg in new[] { "--model", "resnet8", "--conv", "c2sp", "--data", dataDir, "--epochs", "3", "--batch", "8", "--lr", "0.05",
                         "--schedule", "step", "--mixup", "uniform", "--mixup-alpha", "0.5", "--cutout", "3", "--seed", "11" })
                info.ArgumentList.Add(arg);
        return Process.Start(info)!;
    }

    private static string Finish(Process process, int exitCode = 0)
    {
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), "the CLI did not finish");
        Assert.True(process.ExitCode == exitCode, $"exit {process.ExitCode}: {stdout.Result}{stderr.Result}");
        return stdout.Result + stderr.Result;
    }

    private static Dictionary<string, byte[]> State(string run)
    {
        var (_, tensors) = Checkpoint.Read(Path.Combine(run, Trainer.CheckpointFile));
        var state = tensors.ToDictionary(kv => kv.Key, kv => kv.Value.bytes.ToArray());
        foreach (var t in tensors.Values) t.Dispose();
        return state;
    }

    [Fact]
    public void A_killed_training_process_resumes_to_the_uninterrupted_result()
    {
        var dataDir = _data.WriteIdxSet("shapes", count: 64, h: 8, w: 8, classes: 4);
        var whole = _data.PathOf("whole");
        using (var run = Start(whole, dataDir, resume: false)) Finish(run);

        var killed = _data.PathOf("killed");
        var checkpoint = Path.Combine(killed, Trainer.CheckpointFile);
        using (var run = Start(killed, dataDir, resume: false))
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (!(File.Exists(checkpoint) && Checkpoint.ReadHeader(checkpoint).Position is { Epoch: >= 2, NextBatch: > 0 }) && !run.HasExited)
            {
                Assert.True(DateTime.UtcNow < deadline, "no mid-epoch checkpoint appeared");
                Thread.Sleep(20);
            }
            run.Kill(entireProcessTree: true);
            run.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(killed, Trainer.ResultFile)), "the process finished before it could be killed");
        var position = Checkpoint.ReadHeader(checkpoint).Position;
        Assert.True(position.NextBatch > 0 || position.Epoch > 2, $"killed at epoch {position.Epoch}, batch {position.NextBatch}");
        using (var run = Start(killed, dataDir, resume: true)) Finish(run);

        var expected = State(whole);
        var actual = State(killed);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, bytes) in expected) Assert.True(bytes.AsSpan().SequenceEqual(actual[name]), $"{name} differs");
        Assert.Equal(EpochMetrics.ReadAll(whole).Select(m => (m.TrainLoss, m.TestLoss, m.TestError)),
                     EpochMetrics.ReadAll(killed).Select(m => (m.TrainLoss, m.TestLoss, m.TestError)));
        Assert.Equal(Trainer.ReadResult(whole)!.FinalTestError, Trainer.ReadResult(killed)!.FinalTestError);

        // Misuse is one line, exit 1: changing the recipe on resume, or training into a used directory.
        using (var run = Start(killed, dataDir, resume: true, "--lr", "0.2"))
            Assert.Contains("learningRate", Finish(run, exitCode: 1));
        using (var run = Start(killed, dataDir, resume: true, "--epochs", "3", "--seed", "11", "--workers", "2"))
            Assert.Contains("done", Finish(run));
        using (var run = Start(killed, dataDir, resume: false))
        {
            var output = Finish(run, exitCode: 1);
            Assert.Contains("--resume", output);
            Assert.DoesNotContain("   at ", output);
        }
    }
}
