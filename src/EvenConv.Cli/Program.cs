using System.CommandLine;
using EvenConv.Cli;
using EvenConv.Cli.Commands;

// Each command lives in Commands/ and only parses options, calls the library and prints.
var root = new RootCommand("EvenConv: convolutions with even-sized kernels and symmetric padding (Wu et al., NeurIPS 2019) on TorchSharp.");
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
return await CliRunner.RunAsync(root, args);
