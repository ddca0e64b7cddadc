using System.Reflection;
using Xunit.Sdk;

[assembly: EvenConv.Tests.TestJournal]

namespace EvenConv.Tests;

/// <summary>
/// Writes "start NAME" before and "end NAME" after every test to the file named by <c>EVENCONV_TEST_JOURNAL</c>, one
/// write per line, so that when a test kills the test host (a native crash such as oneDNN's SIGFPE) the journal
/// still says which test was running: <c>./test</c> reads it to name that test and to count what did not run.
/// Without the variable it does nothing. Linked into the crash check's throw-away project too (TestScriptTests).
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class TestJournalAttribute : BeforeAfterTestAttribute
{
    private static readonly string? Path = Environment.GetEnvironmentVariable("EVENCONV_TEST_JOURNAL");
    private static readonly Lock Gate = new();

    public override void Before(MethodInfo methodUnderTest) => Append("start", methodUnderTest);

    public override void After(MethodInfo methodUnderTest) => Append("end", methodUnderTest);

    private static void Append(string what, MethodInfo method)
    {
        if (Path is null) return;
        lock (Gate) File.AppendAllText(Path, $"{what} {method.DeclaringType?.FullName}.{method.Name}\n");
    }
}
