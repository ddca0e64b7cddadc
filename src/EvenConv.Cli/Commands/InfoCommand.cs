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
        var command = new Command("info", "Show the TorchSharp runtime, threads, memory layout, allocator, C2sp kernels, JIT mode, the 1×1 convolution route and native-library status.");
        command.SetAction(_ =>
        {
            var table = new Table().AddColumns("setting", "value");
            table.AddRow("TorchSharp", typeof(torch).Assembly.GetName().Version?.ToString() ?? "?");
            table.AddRow("intra-op threads", torch.get_num_threads().ToString());
            table.AddRow("memory layout (default)", TensorLayout.Default.ToString());
            table.AddRow("allocator", Runtime.AllocatorDescription());
            table.AddRow("C2sp kernels", Runtime.C2spKernelsDescription());
            table.AddRow("JIT", Runtime.JitDescription());
            table.AddRow("1×1 convolutions", ConvRouting.Describe());
            foreach (var bad in ConvRouting.UnhealthyOthers())
                table.AddRow("[red]failing oneDNN case[/]", Markup.Escape($"{bad.Case}: {bad.Verdict} (no route avoids it; start with ONEDNN_MAX_CPU_ISA=AVX)"));
            table.AddRow("libstdc++", LibTorchSharpFix.HostStdCxxPath() ?? "not found");
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
