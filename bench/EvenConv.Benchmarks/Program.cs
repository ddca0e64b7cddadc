using BenchmarkDotNet.Running;

// In-process runs (see the [InProcess] attribute on each class): TorchSharp's native libraries and the
// libLibTorchSharp fix live in this project's output, which a separately generated benchmark project would lack.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
