using System.CommandLine;
using EvenConv.Cli;
using EvenConv.Cli.Commands;

// Each command lives in Commands/ and only parses options, calls the library and prints.
var root = new RootCommand("EvenConv: convolutions with even-sized kernels and symmetric padding (Wu et al., NeurIPS 2019) on TorchSharp.");
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(ReproduceCommand.Create());
root.Subcommands.Add(ModelsCommand.Create());
root.Subcommands.Add(DataCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(ImportCommand.Create());
root.Subcommands.Add(PredictCommand.Create());
root.Subcommands.Add(SweepCommand.Create());
root.Subcommands.Add(AnalyzeCommand.Create());
root.Subcommands.Add(GanCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
return await CliRunner.RunAsync(root, args);
