using System.CommandLine;
using EvenConv.NativeFix;
using EvenConv.Ops;
using EvenConv.Ops.Routing;
using Spectre.Console;
using TorchSharp;

namespace EvenConv.Cli.Commands;

/// <summary>`evenconv info`: the runtime facts that decide speed — threads, memory layout, allocator, C2sp kernels, native fix.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show the TorchSharp runtime, threads, memory layout, allocator, C2sp kernels, JIT mode, the convolution route and native-library status.");
        command.SetAction(_ =>
        {
            var table = new Table().AddColumns("setting", "value");
            table.AddRow("TorchSharp", typeof(torch).Assembly.GetName().Version?.ToString() ?? "?");
            table.AddRow("intra-op threads", torch.get_num_threads().ToString());
            table.AddRow("memory layout (default)", TensorLayout.Default.ToString());
            table.AddRow("allocator", Runtime.AllocatorDescription());
            table.AddRow("C2sp kernels", Runtime.C2spKernelsDescription());
            table.AddRow("JIT", Runtime.JitDescription());
            var route = ConvRouting.Describe().ToList();
            table.AddRow("convolution route", Markup.Escape(route[0]));
            foreach (var bad in route.Skip(1)) table.AddRow("[red]oneDNN fails[/]", Markup.Escape(bad));
            table.AddRow("libstdc++", LibTorchSharpFix.HostStdCxxPath() ?? "not found");
            table.AddRow("MPI (data-parallel)", EvenConv.Distributed.MpiCommunicator.Unavailable ?? "Open MPI's libmpi.so.40 loads: mpirun -np N ./evenconv train … (docs/distributed.md)");
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
