using static TorchSharp.torch;

namespace EvenConv.Tests.Reference;

/// <summary>
/// The collection of tests that run many small tensor ops. They run with one intra-op thread: tensors of a few
/// hundred elements gain nothing from a second thread, and on a loaded machine every parallel region waits for a
/// descheduled thread (measured: 15 s with one thread, 5 min with two, at load 22 on 2 cores). The previous count
/// is restored when the collection ends, so other tests run as configured.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TinyTensors : ICollectionFixture<TinyTensors.SingleThread>
{
    public const string Name = "Tiny tensors";

    public sealed class SingleThread : IDisposable
    {
        private readonly int _threads = get_num_threads();

        public SingleThread() => set_num_threads(1);

        public void Dispose() => set_num_threads(_threads);
    }
}
