#!/usr/bin/python3
"""Reference PyTorch modules for EvenConv models, and a command line that runs them on EvenConv weights.

What a PyTorch user would write to use weights trained with EvenConv (docs/deploying.md):

* ``symmetric_pad`` / ``EvenConv2d``: the convolution family of Wu et al., "Convolution with even-sized kernels and
  symmetric padding" (NeurIPS 2019): c3/c5 (centred), c2/c4 (TensorFlow 'same': the extra pixel bottom and right) and
  c2sp/c4sp (symmetric padding: four channel groups, each padded towards its own corner).
* ``ResNetCifar``: the pre-activation CIFAR ResNet of the paper (depth 6n+2) with EvenConv's state-dict names, so
  ``model.load_state_dict(read_safetensors(path))`` takes an ``evenconv export state-dict`` file as it is.

Only torch is needed (Debian's python3-torch 1.13 has no ``safetensors`` package, so a small reader and writer of the
format are here). Commands:

  evenconv_torch.py logits --weights W.safetensors --input X.safetensors --out Y.safetensors [--depth 20 --conv c2sp ...]
  evenconv_torch.py init --out W.safetensors|W.pt --seed 1 [--depth 20 --conv c2sp ...]
"""
import argparse
import json
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

# The extra pixel of each channel group as (top, bottom, left, right), in the authors' group order: bottom-right,
# top-left, bottom-left, top-right. The order is part of what the weights mean: a filter of group g was trained on
# inputs padded towards corner g.
CORNERS = [(0, 1, 0, 1), (1, 0, 1, 0), (0, 1, 1, 0), (1, 0, 0, 1)]


def group_sizes(channels):
    """Four contiguous channel groups; the first channels % 4 are one channel larger (empty groups allowed)."""
    q, r = divmod(channels, 4)
    return [q + (1 if g < r else 0) for g in range(4)]


def symmetric_pad(x, kernel_size, dilation=1):
    """Symmetric padding for an even kernel 2k: d(k-1) on every side plus d towards each group's corner."""
    base = dilation * (kernel_size // 2 - 1)
    groups = torch.split(x, group_sizes(x.shape[1]), dim=1)
    padded = []
    for part, (top, bottom, left, right) in zip(groups, CORNERS):
        if part.shape[1] > 0:
            padded.append(F.pad(part, (base + dilation * left, base + dilation * right,
                                       base + dilation * top, base + dilation * bottom)))
    return torch.cat(padded, dim=1)


def parse_kind(kind):
    """'c3' -> (3, 'centred'), 'c2' -> (2, 'same'), 'c2sp' -> (2, 'symmetric')."""
    symmetric = kind.endswith("sp")
    k = int(kind[1:-2] if symmetric else kind[1:])
    if symmetric and k % 2:
        raise ValueError(f"{kind}: symmetric padding is for even kernels")
    return k, "symmetric" if symmetric else ("centred" if k % 2 else "same")


class EvenConv2d(nn.Conv2d):
    """A k x k convolution of any EvenConv kind; bias-free like EvenConv's, and with its parameter name 'weight'."""

    def __init__(self, in_channels, out_channels, kind="c3", stride=1):
        k, self.scheme = parse_kind(kind)
        super().__init__(in_channels, out_channels, k, stride=stride, padding=(k - 1) // 2 if self.scheme == "centred" else 0, bias=False)

    def forward(self, x):
        k = self.kernel_size[0]
        if self.scheme == "symmetric":
            x = symmetric_pad(x, k)
        elif self.scheme == "same":
            before = (k - 1) // 2
            x = F.pad(x, (before, k - 1 - before, before, k - 1 - before))
        return super().forward(x)


class PreActBasicBlock(nn.Module):
    """bn1-ReLU-conv1(stride)-bn2-ReLU-conv2, plus the input or a strided 1x1 projection of the raw input."""

    def __init__(self, in_channels, out_channels, stride, kind):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = EvenConv2d(in_channels, out_channels, kind, stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = EvenConv2d(out_channels, out_channels, kind)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False) if stride != 1 or in_channels != out_channels else None

    def forward(self, x):
        residual = self.conv1(F.relu(self.bn1(x)))
        residual = self.conv2(F.relu(self.bn2(residual)))
        return residual + (x if self.shortcut is None else self.shortcut(x))


class Stem(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = EvenConv2d(in_channels, out_channels, "c3")  # 3x3 for every kind, as the paper counts it

    def forward(self, x):
        return self.conv(x)


class Stage(nn.Module):
    def __init__(self, in_channels, out_channels, blocks, stride, kind):
        super().__init__()
        self.blocks = nn.ModuleList(
            PreActBasicBlock(in_channels if i == 0 else out_channels, out_channels, stride if i == 0 else 1, kind) for i in range(blocks))

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x


class Head(nn.Module):
    """BN-ReLU-global average pool-FC without bias."""

    def __init__(self, channels, classes):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.fc = nn.Linear(channels, classes, bias=False)

    def forward(self, x):
        return self.fc(F.relu(self.bn(x)).mean((2, 3)))


class ResNetCifar(nn.Module):
    """Pre-activation ResNet for CIFAR (depth 6n+2): 3x3 stem to 16 channels, stages of n blocks at widths 16/32/64 with
    strides 1/2/2 in the first block's conv1, head BN-ReLU-GAP-FC. EvenConv's "resnet20" ... "resnet110"."""

    def __init__(self, depth=20, kind="c3", in_channels=3, classes=10):
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth {depth} is not 6n+2")
        n = (depth - 2) // 6
        self.stem = Stem(in_channels, 16)
        self.stages = nn.ModuleList([Stage(16, 16, n, 1, kind), Stage(16, 32, n, 2, kind), Stage(32, 64, n, 2, kind)])
        self.head = Head(64, classes)

    def forward(self, x):
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.head(x)


_DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}


def read_safetensors(path):
    """A safetensors file as {name: tensor}: an 8-byte little-endian header length, a JSON header, raw tensor bytes."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        flat = torch.frombuffer(bytearray(body[start:end]), dtype=_DTYPES[entry["dtype"]]) if end > start else torch.empty(0, dtype=_DTYPES[entry["dtype"]])
        tensors[name] = flat.reshape(entry["shape"]).clone()
    return tensors


def write_safetensors(path, tensors):
    names = {v: k for k, v in _DTYPES.items()}
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        raw = tensor.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": names[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def build(args):
    return ResNetCifar(args.depth, args.conv, args.in_channels, args.classes)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    logits = commands.add_parser("logits", help="eval-mode logits of EvenConv weights on an input batch")
    logits.add_argument("--weights", required=True, help=".safetensors, or .pt from torch.save(state_dict)")
    logits.add_argument("--input", required=True, help="safetensors file with an 'input' tensor (N, C, H, W)")
    logits.add_argument("--out", required=True, help="safetensors file to write the 'logits' to")
    init = commands.add_parser("init", help="random weights and batch-norm statistics, as a PyTorch user's model")
    init.add_argument("--out", required=True, help=".safetensors or .pt (torch.save)")
    init.add_argument("--seed", type=int, default=1)
    for command in (logits, init):
        command.add_argument("--depth", type=int, default=20)
        command.add_argument("--conv", default="c2sp")
        command.add_argument("--in-channels", type=int, default=3)
        command.add_argument("--classes", type=int, default=10)
    args = parser.parse_args()
    model = build(args)
    if args.command == "logits":
        state = read_safetensors(args.weights) if args.weights.endswith(".safetensors") else torch.load(args.weights)
        model.load_state_dict(state)  # strict: every key, no other, same shapes
        model.eval()
        with torch.no_grad():
            out = model(read_safetensors(args.input)["input"])
        write_safetensors(args.out, {"logits": out})
    else:
        torch.manual_seed(args.seed)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, nn.BatchNorm2d):  # statistics away from 0/1, so a wrong batch norm shows
                    module.running_mean.normal_(0, 0.2)
                    module.running_var.uniform_(0.5, 1.5)
                    module.weight.normal_(1, 0.2)
                    module.bias.normal_(0, 0.2)
        if args.out.endswith(".safetensors"):
            write_safetensors(args.out, model.state_dict())
        else:
            torch.save(model.state_dict(), args.out)


if __name__ == "__main__":
    main()
