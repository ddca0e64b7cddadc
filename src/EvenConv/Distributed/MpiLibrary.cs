using System.Runtime.InteropServices;

namespace EvenConv.Distributed;

/// <summary>
/// The few MPI functions data-parallel training needs, bound straight to Open MPI's <c>libmpi.so.40</c> (Debian:
/// <c>openmpi-bin</c>, <c>libopenmpi3</c>). Not MPI.NET: its build P/Invokes Windows' msmpi.dll, whose handles are
/// ints; Open MPI's handles are pointers to predefined objects that the library exports (<c>MPI_COMM_WORLD</c> is
/// <c>&amp;ompi_mpi_comm_world</c>, <c>MPI_FLOAT</c> is <c>&amp;ompi_mpi_float</c>), so the address of each export is the
/// handle. MPICH-family libraries (Intel MPI, Cray MPICH: <c>libmpi.so.12</c>, int handles) are not supported.
/// The library is opened with RTLD_GLOBAL because Open MPI's plugins resolve its symbols from the global scope.
/// </summary>
internal static unsafe class MpiLibrary
{
    public const string FileName = "libmpi.so.40";

    /// <summary>MPI_THREAD_SERIALIZED: any thread may call, one at a time (the trainer calls from one thread, but a
    /// command's code is not pinned to the thread that initialised MPI).</summary>
    public const int ThreadSerialized = 2;

    /// <summary>MPI_IN_PLACE in Open MPI.</summary>
    public static readonly IntPtr InPlace = 1;

    public static readonly delegate* unmanaged<int*, byte***, int, int*, int> Init_thread;
    public static readonly delegate* unmanaged<int*, int> Initialized;
    public static readonly delegate* unmanaged<int*, int> Finalized;
    public static readonly delegate* unmanaged<int> Finalize;
    public static readonly delegate* unmanaged<IntPtr, int*, int> Comm_rank;
    public static readonly delegate* unmanaged<IntPtr, int*, int> Comm_size;
    public static readonly delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int> Allreduce;
    public static readonly delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int> Bcast;
    public static readonly delegate* unmanaged<IntPtr, int> Barrier;
    public static readonly delegate* unmanaged<IntPtr, int, int> Abort;
    public static readonly delegate* unmanaged<byte*, int*, int> Get_library_version;
    public static readonly delegate* unmanaged<int, byte*, int*, int> Error_string;

    /// <summary>Predefined handles: MPI_COMM_WORLD, MPI_FLOAT, MPI_DOUBLE, MPI_BYTE, MPI_SUM.</summary>
    public static readonly IntPtr CommWorld, Float, Double, Byte, Sum;

    /// <summary>Why the library could not be used, or null when it loaded.</summary>
    public static readonly string? LoadError;

    static MpiLibrary()
    {
        if (!OperatingSystem.IsLinux())
        {
            LoadError = "MPI training is supported on Linux only.";
            return;
        }
        if (dlopen(FileName, RtldNow | RtldGlobal) == IntPtr.Zero || !NativeLibrary.TryLoad(FileName, out var library))
        {
            LoadError = $"{FileName} (Open MPI) could not be loaded ({Marshal.PtrToStringUTF8(dlerror()) ?? "not found"}). " +
                "Install Open MPI (Debian/Ubuntu: sudo apt-get install openmpi-bin), or on a cluster load its Open MPI module so that " +
                "the library is on LD_LIBRARY_PATH; or train as one process without --distributed mpi.";
            return;
        }
        try
        {
            IntPtr Get(string name) => NativeLibrary.GetExport(library, name);
            Init_thread = (delegate* unmanaged<int*, byte***, int, int*, int>)Get("MPI_Init_thread");
            Initialized = (delegate* unmanaged<int*, int>)Get("MPI_Initialized");
            Finalized = (delegate* unmanaged<int*, int>)Get("MPI_Finalized");
            Finalize = (delegate* unmanaged<int>)Get("MPI_Finalize");
            Comm_rank = (delegate* unmanaged<IntPtr, int*, int>)Get("MPI_Comm_rank");
            Comm_size = (delegate* unmanaged<IntPtr, int*, int>)Get("MPI_Comm_size");
            Allreduce = (delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int>)Get("MPI_Allreduce");
            Bcast = (delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int>)Get("MPI_Bcast");
            Barrier = (delegate* unmanaged<IntPtr, int>)Get("MPI_Barrier");
            Abort = (delegate* unmanaged<IntPtr, int, int>)Get("MPI_Abort");
            Get_library_version = (delegate* unmanaged<byte*, int*, int>)Get("MPI_Get_library_version");
            Error_string = (delegate* unmanaged<int, byte*, int*, int>)Get("MPI_Error_string");
            CommWorld = Get("ompi_mpi_comm_world");
            Float = Get("ompi_mpi_float");
            Double = Get("ompi_mpi_double");
            Byte = Get("ompi_mpi_byte");
            Sum = Get("ompi_mpi_op_sum");
        }
        catch (EntryPointNotFoundException e)
        {
            LoadError = $"{FileName} is not Open MPI's ({e.Message}); EvenConv binds Open MPI's ABI (pointer handles). Put Open MPI's library first on LD_LIBRARY_PATH.";
        }
    }

    /// <summary>Throws the reason unless the library is usable.</summary>
    public static void EnsureLoaded()
    {
        if (LoadError is not null) throw new EvenConvException("--distributed mpi: " + LoadError);
    }

    /// <summary>Throws with MPI's own description unless <paramref name="code"/> is MPI_SUCCESS.</summary>
    public static void Check(int code, string call)
    {
        if (code == 0) return;
        var text = stackalloc byte[512];
        var length = 0;
        var message = Error_string(code, text, &length) == 0 ? Marshal.PtrToStringUTF8((IntPtr)text, length) : $"error {code}";
        throw new EvenConvException($"{call} failed: {message}.");
    }

    public static string LibraryVersion()
    {
        var text = stackalloc byte[8192]; // MPI_MAX_LIBRARY_VERSION_STRING is 256 in Open MPI; room for others
        var length = 0;
        if (Get_library_version(text, &length) != 0) return "MPI";
        var version = Marshal.PtrToStringUTF8((IntPtr)text, length);
        return version.Split([',', '\n'], 2)[0].Trim();
    }

    private const int RtldNow = 2, RtldGlobal = 0x100;

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern IntPtr dlopen(string file, int mode);

    [DllImport("libc")]
    private static extern IntPtr dlerror();
}
