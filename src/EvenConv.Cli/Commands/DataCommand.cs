using System.CommandLine;
using EvenConv.Data;
using EvenConv.Data.Download;
using Spectre.Console;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv data download|info`: fetch the canonical data sets, or describe one.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var command = new Command("data", "Download data sets or describe one.");
        command.Subcommands.Add(Download());
        command.Subcommands.Add(Info());
        return command;
    }

    private static Command Download()
    {
        var name = new Argument<string>("name") { Description = $"Data set: {string.Join(", ", DataSetSource.Catalog.Select(s => s.Name))}." };
        var dir = new Option<string>("--dir") { Description = "Folder to put DIR/NAME in.", DefaultValueFactory = _ => DataSets.DefaultDirectory };
        var command = new Command("download", "Download a data set from its canonical URL (resumable, checksum-verified, archives unpacked safely).") { name, dir };
        command.SetAction(async (parse, cancellation) =>
        {
            var source = DataSetSource.Find(parse.GetValue(name)!);
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            http.DefaultRequestHeaders.UserAgent.ParseAdd("evenconv-data-download/1.0");
            string target;
            if (ConsoleOutput.IsInteractive)
            {
                target = await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                    .StartAsync(async context =>
                    {
                        var tasks = new Dictionary<string, ProgressTask>();
                        var downloader = new Downloader(http)
                        {
                            Progress = p =>
                            {
                                lock (tasks)
                                {
                                    if (!tasks.TryGetValue(p.FileName, out var task))
                                        tasks[p.FileName] = task = context.AddTask(p.FileName, maxValue: p.TotalBytes ?? 1);
                                    if (p.TotalBytes is { } total) task.MaxValue = total;
                                    task.Value = p.Bytes;
                                }
                            },
                        };
                        return await downloader.DownloadAsync(source, parse.GetValue(dir)!, cancellation);
                    });
            }
            else
            {
                var lastReport = DateTime.MinValue;
                var downloader = new Downloader(http)
                {
                    Progress = p =>
                    {
                        if (DateTime.UtcNow - lastReport < TimeSpan.FromSeconds(5) && p.Bytes != p.TotalBytes) return;
                        lastReport = DateTime.UtcNow;
                        Console.WriteLine($"{p.FileName}: {p.Bytes / 1048576.0:F1} MiB{(p.TotalBytes is { } t ? $" of {t / 1048576.0:F1} MiB" : "")}");
                    },
                };
                target = await downloader.DownloadAsync(source, parse.GetValue(dir)!, cancellation);
            }
            var test = DataSets.Open(source.Name, DataSplit.Test, Path.GetDirectoryName(target));
            AnsiConsole.MarkupLineInterpolated($"[green]{source.Name}[/] is in {target} ({test.Count} test images read back); train on it with --data {source.Name} --data-dir {Path.GetDirectoryName(target)}");
            return 0;
        });
        return command;
    }

    private static Command Info()
    {
        var data = new Argument<string>("data") { Description = "Data set name or directory." };
        var dataDir = DataDirectoryOption();
        var command = new Command("info", "Show a data set's splits, image size, classes and normalisation.") { data, dataDir };
        command.SetAction(parse =>
        {
            var train = DataSets.Open(parse.GetValue(data)!, DataSplit.Train, parse.GetValue(dataDir));
            var test = DataSets.Open(parse.GetValue(data)!, DataSplit.Test, parse.GetValue(dataDir));
            var norm = ChannelNormalization.For(train);
            var table = new Table().AddColumns("property", "value");
            table.AddRow("name", Markup.Escape(train.Name.Split('/')[0]));
            table.AddRow("train / test images", $"{train.Count} / {test.Count}");
            table.AddRow("image", $"{train.Channels}×{train.Height}×{train.Width}");
            table.AddRow("classes", Markup.Escape($"{train.ClassNames.Count}: {string.Join(", ", train.ClassNames.Take(12))}{(train.ClassNames.Count > 12 ? ", …" : "")}"));
            table.AddRow("mean (0–255)", string.Join(", ", norm.Mean.Select(m => m.ToString("F3"))));
            table.AddRow("std (0–255)", string.Join(", ", norm.Std.Select(s => s.ToString("F3"))));
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    /// <summary>The --data-dir option shared by commands that open named data sets.</summary>
    public static Option<string?> DataDirectoryOption() => new("--data-dir")
    {
        Description = $"Folder searched first for named data sets (DIR/NAME); also ${DataSets.DataDirectoryVariable}.",
    };
}
