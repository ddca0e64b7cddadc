namespace EvenConv.Layers;

/// <summary>How a convolution with stride s &gt; 1 downsamples.</summary>
public enum StrideMode
{
    /// <summary>The stride sits in the k×k convolution (the 2019 CIFAR code of the paper's authors).</summary>
    Strided,
    /// <summary>An s×s average pool with stride s, then the stride-1 convolution (the authors' ImageNet models,
    /// "following fb.resnet.torch"). No even kernel is then ever applied with a stride.</summary>
    Pool,
}
