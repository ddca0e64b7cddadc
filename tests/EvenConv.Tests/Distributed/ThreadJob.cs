using EvenConv.Distributed;

namespace EvenConv.Tests.Distributed;

/// <summary>A data-parallel job whose ranks are threads of the test process: the collectives of
/// <see cref="ICommunicator"/> over shared arrays and a barrier, summed in rank order. Lets the library's distributed
/// code run against an independent reference without MPI.</summary>
internal sealed class ThreadJob
{
    private readonly Barrier _barrier;
    private readonly object?[] _slots;

    private ThreadJob(int size) => (_barrier, _slots) = (new Barrier(size), new object?[size]);

    /// <summary>Runs <paramref name="body"/> as every rank of a job of <paramref name="size"/> threads; returns each rank's result.</summary>
    public static T[] Run<T>(int size, Func<ICommunicator, T> body)
    {
        var job = new ThreadJob(size);
        var results = new T[size];
        var failures = new Exception?[size];
        var threads = Enumerable.Range(0, size).Select(r => new Thread(() =>
        {
            try { results[r] = body(new ThreadRank(job, r)); }
            catch (Exception e) { failures[r] = e; job._barrier.RemoveParticipant(); }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        if (failures.FirstOrDefault(f => f is not null) is { } failure) throw new AggregateException(failures.Where(f => f is not null)!);
        return results;
    }

    private sealed class ThreadRank(ThreadJob job, int rank) : ICommunicator
    {
        public int Rank => rank;
        public int Size => job._slots.Length;
        public int LocalSize => Size;
        public string Description => $"{Size} threads";

        public void AllreduceSum(Span<float> values)
        {
            var sums = Exchange(values.ToArray()).Aggregate(new float[values.Length], (s, v) => { for (var i = 0; i < s.Length; i++) s[i] += v[i]; return s; });
            sums.CopyTo(values);
        }

        public void AllreduceSum(Span<double> values)
        {
            var sums = Exchange(values.ToArray()).Aggregate(new double[values.Length], (s, v) => { for (var i = 0; i < s.Length; i++) s[i] += v[i]; return s; });
            sums.CopyTo(values);
        }

        public void Broadcast(Span<byte> data, int root = 0) => Exchange(data.ToArray())[root].CopyTo(data);

        public void Barrier() => job._barrier.SignalAndWait();

        public void Abort(int exitCode) => throw new InvalidOperationException($"rank {rank} aborted the job ({exitCode})");

        public void Dispose() { }

        private T[][] Exchange<T>(T[] mine)
        {
            job._slots[rank] = mine;
            job._barrier.SignalAndWait();
            var all = job._slots.Select(s => (T[])s!).ToArray();
            job._barrier.SignalAndWait();
            return all;
        }
    }
}
