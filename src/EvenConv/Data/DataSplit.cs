namespace EvenConv.Data;

/// <summary>Which part of a data set to open.</summary>
public enum DataSplit
{
    /// <summary>The training images.</summary>
    Train,
    /// <summary>The held-out test (or validation) images.</summary>
    Test,
}
