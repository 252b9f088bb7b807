"""The notes' CNN: Conv2D blocks (Conv -> ReLU -> Pool) -> (global pooling) -> dense.

Description:
    Notes 000 §1.a: a convolution `net_c = X * K`, a detector `H = ReLU(net_c)`, max/average
    pooling for dimensionality reduction, then a fully connected layer `H·W + b`; the
    architecture figure of §1.b is "Conv2D Blocks -> GlobalAvgPool -> Dense". Here the dense
    layer is followed by a ReLU and its output is the feature vector an agent's heads read (the
    notes' softmax classifier is the agent's job).

    Weight sharing (notes 000 §1.b): a conv layer with F filters of size FW x FH on C input
    channels has `(FW·FH·C + 1)·F` parameters (`conv_param_count`), whatever the image
    size.

    As an agent's eyes on a grid world the global pooling is the weak spot: the agent covers
    about 1/50 of the picture and its *place* is the whole observation, which averaging throws
    away. So the default reads the last feature map whole (`global_pool="flatten"`, as DQN's
    Nature CNN does); `global_pool="avg"` is the notes' GlobalAvgPool exactly and `"max"`
    its max variant (§1.a allows max or average pooling). `coord_channels=True` appends two
    channels holding each pixel's row and column (CoordConv, Liu et al. 2018), which lets the
    pooled variants say where the agent is. Measured: telling the agent's cell from the picture
    (supervised, `cliff` map, 37 cells) max pooling with coordinates reaches 100% in 150 Adam
    steps, average pooling 22% after 300; SB3 PPO on the `lecture` map reaches the greedy
    return 10 in 1.0-2.3 k steps with the default (SB3's Nature CNN: 2.6-3.3 k, 3 seeds) but not
    within 6 k steps with coordinates and max pooling (`benchmarks/nets_cnn_gridworld.py`).

Arguments:
    channels: filters per block (default `(8, 16, 32)`); one Conv -> ReLU -> MaxPool(2) each.
    kernel_size: FW = FH (default 3, "same" padding).
    output_dim: width of the dense layer (default 128).
    coord_channels: add the two coordinate channels (default False).
    global_pool: `"flatten"` (default: the dense layer reads the whole last feature map; its
        size then depends on the picture's), `"avg"` (the notes' GlobalAvgPool) or `"max"`.
    first_stride: stride of the first convolution (default 2: on a 42 x 42 picture the first
        layer works at 21 x 21, 3.5x faster; stride does not change the parameter count).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from lecture_rl.nets.backbone import Backbone, _check_positive, is_image_space


def conv_param_count(fw: int, fh: int, c: int, f: int) -> int:
    """Parameters of one conv layer: (FW·FH·C + 1)·F, notes 000 §1.b (the +1 is each bias)."""
    return (fw * fh * c + 1) * f


def coordinate_channels(x: torch.Tensor) -> torch.Tensor:
    """`[N, C, H, W]` -> `[N, C + 2, H, W]` with row and column coordinates in [-1, 1]."""
    n, _, h, w = x.shape
    rows = torch.linspace(-1.0, 1.0, h, device=x.device, dtype=x.dtype).view(1, 1, h, 1)
    cols = torch.linspace(-1.0, 1.0, w, device=x.device, dtype=x.dtype).view(1, 1, 1, w)
    return torch.cat([x, rows.expand(n, 1, h, w), cols.expand(n, 1, h, w)], dim=1)


class NotesCNN(nn.Module):
    """`[N, C, H, W]` floats -> `[N, output_dim]`: the architecture of notes 000 §1."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        channels: Sequence[int] = (8, 16, 32),
        kernel_size: int = 3,
        output_dim: int = 128,
        coord_channels: bool = False,
        global_pool: str = "flatten",
        first_stride: int = 2,
    ):
        super().__init__()
        c, h, w = image_shape
        self.coord_channels = bool(coord_channels)
        kernel_size = _check_positive("kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (3, 5, ...), got {kernel_size}")
        first_stride = _check_positive("first_stride", first_stride)
        channels = tuple(_check_positive("channels entry", k) for k in channels)
        if not channels:
            raise ValueError("channels must name at least one conv block, e.g. (8, 16, 32)")
        blocks: list[nn.Module] = []
        width = c + (2 if self.coord_channels else 0)
        pad = kernel_size // 2
        for i, filters in enumerate(channels):
            stride = first_stride if i == 0 else 1
            conv = nn.Conv2d(width, filters, kernel_size, stride=stride, padding=pad)
            blocks.append(conv)  # net_c = X * K
            h, w = (h + stride - 1) // stride, (w + stride - 1) // stride
            blocks.append(nn.ReLU())  # H = ReLU(net_c)
            if min(h, w) >= 2:  # pooling for dimensionality reduction
                blocks.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            width = filters
        self.blocks = nn.Sequential(*blocks)
        pools = {"avg": nn.AdaptiveAvgPool2d(1), "max": nn.AdaptiveMaxPool2d(1)}
        if global_pool not in (*pools, "flatten"):
            raise ValueError(f"global_pool must be 'avg', 'max' or 'flatten', got {global_pool!r}")
        if global_pool == "flatten":  # keep every position: dense on the whole feature map
            self.global_pool, width = nn.Identity(), width * h * w
        else:
            self.global_pool = pools[global_pool]
        self.dense = nn.Linear(width, _check_positive("output_dim", output_dim))  # H·W + b
        self.output_dim = int(output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.coord_channels:
            h = self.blocks[1:](self._first_conv(x))
        else:
            h = self.blocks(x)
        return torch.relu(self.dense(self.global_pool(h).flatten(1)))

    def _first_conv(self, x: torch.Tensor) -> torch.Tensor:
        """net_c = X * K + b of the first block (its ReLU not yet applied)."""
        conv = self.blocks[0]
        if not self.coord_channels:
            return conv(x)
        # conv([X, coords]) = conv(X; K_X) + conv(coords; K_coords): the coordinate part is
        # the same for every image, so it is computed once and broadcast over the batch.
        c = x.shape[1]
        coords = coordinate_channels(x[:1, :0])  # [1, 2, H, W]
        h = F.conv2d(x, conv.weight[:, :c], conv.bias, conv.stride, conv.padding)
        return h + F.conv2d(coords, conv.weight[:, c:], None, conv.stride, conv.padding)

    def forward_traced(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`(features, H1)`: `forward`'s output and the first layer's feature maps
        `H1 = ReLU(X * K + b)` `[N, channels[0], H', W']` (notes 000 §1.a)."""
        h1 = self.blocks[1](self._first_conv(x))  # H = ReLU(net_c)
        h = self.blocks[2:](h1)
        return torch.relu(self.dense(self.global_pool(h).flatten(1))), h1


class CNNBackbone(Backbone):
    """Feed-forward backbone for image observations (uint8 `H x W x C`)."""

    name = "cnn"
    is_recurrent = False

    def __init__(
        self,
        observation_space: spaces.Space,
        channels: Sequence[int] = (8, 16, 32),
        kernel_size: int = 3,
        output_dim: int = 128,
        coord_channels: bool = False,
        hidden_size: int | None = None,
        global_pool: str = "flatten",
        first_stride: int = 2,
    ):
        if not is_image_space(observation_space):
            raise ValueError(
                f"the cnn backbone needs image observations (a uint8 Box of shape H x W x C), "
                f"got {observation_space}; use obs_mode='image' on GridWorld or another network "
                "such as 'mlp'"
            )
        super().__init__(observation_space)
        if hidden_size is not None:  # the common spelling across backbones
            output_dim = hidden_size
        self.body = NotesCNN(
            self.encoder.image_shape,
            channels,
            kernel_size,
            output_dim,
            coord_channels,
            global_pool,
            first_stride,
        )
        self.output_dim = self.body.output_dim

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
