namespace EvenConv;

/// <summary>
/// A problem with the user's input (a corrupt or truncated file, an impossible option, a non-finite loss) whose message
/// names the problem and the fix. The CLI prints it without a stack trace and exits non-zero.
/// </summary>
public class EvenConvException(string message, Exception? inner = null) : Exception(message, inner);
