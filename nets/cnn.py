"""The notes' CNN: Conv2D blocks (Conv -> ReLU -> Pool) -> global pooling -> dense.

Description:
    Notes 000 §1.a: a convolution ``net_c = X * K``, a detector ``H = ReLU(net_c)``, max/average
    pooling for dimensionality reduction, then a fully connected layer ``H·W + b``; the
    architecture figure of §1.b is "Conv2D Blocks -> GlobalAvgPool -> Dense". Here the dense
    layer is followed by a ReLU and its output is the feature vector an agent's heads read (the
    notes' softmax classifier is the agent's job).

    Weight sharing (notes 000 §1.b): a conv layer with F filters of size FW x FH on C input
    channels has ``(FW·FH·C + 1)·F`` parameters (:func:`conv_param_count`), whatever the image
    size.

    Two choices make it work as an agent's eyes on a grid world, where the agent's place is the
    whole observation and the agent covers about 1/50 of the picture:

    - ``coord_channels=True`` (default) appends two channels holding each pixel's row and column
      in [-1, 1] (CoordConv, Liu et al. 2018), so a filter can fire on "agent here and far
      right" and the pooled features still say where the agent is;
    - ``global_pool="max"`` (default) takes the max variant of the notes' global pooling (§1.a
      allows max or average): averaging dilutes the agent's few pixels into the background.
      ``global_pool="avg"`` is the notes' GlobalAvgPool exactly. Measured, supervised: telling
      the agent's cell from the picture on the ``cliff`` map (37 cells), max pooling reaches
      100% in 150 Adam steps, average pooling 22% after 300.

Arguments:
    channels: filters per block (default ``(8, 16, 32)``); one Conv -> ReLU -> MaxPool(2) each.
    kernel_size: FW = FH (default 3, "same" padding).
    output_dim: width of the dense layer (default 128).
    coord_channels: add the two coordinate channels (default True).
    global_pool: ``"max"`` (default) or ``"avg"`` (the notes' GlobalAvgPool).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from gymnasium import spaces
from torch import nn

from lecture_rl.nets.backbone import Backbone, _check_positive, is_image_space


def conv_param_count(fw: int, fh: int, c: int, f: int) -> int:
    """Parameters of one conv layer: (FW·FH·C + 1)·F, notes 000 §1.b (the +1 is each bias)."""
    return (fw * fh * c + 1) * f


def coordinate_channels(x: torch.Tensor) -> torch.Tensor:
    """``[N, C, H, W]`` -> ``[N, C + 2, H, W]`` with row and column coordinates in [-1, 1]."""
    n, _, h, w = x.shape
    rows = torch.linspace(-1.0, 1.0, h, device=x.device, dtype=x.dtype).view(1, 1, h, 1)
    cols = torch.linspace(-1.0, 1.0, w, device=x.device, dtype=x.dtype).view(1, 1, 1, w)
    return torch.cat([x, rows.expand(n, 1, h, w), cols.expand(n, 1, h, w)], dim=1)


class NotesCNN(nn.Module):
    """``[N, C, H, W]`` floats -> ``[N, output_dim]``: the architecture of notes 000 §1."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        channels: Sequence[int] = (8, 16, 32),
        kernel_size: int = 3,
        output_dim: int = 128,
        coord_channels: bool = True,
        global_pool: str = "max",
    ):
        super().__init__()
        c, h, w = image_shape
        self.coord_channels = bool(coord_channels)
        kernel_size = _check_positive("kernel_size", kernel_size)
        channels = tuple(_check_positive("channels entry", k) for k in channels)
        if not channels:
            raise ValueError("channels must name at least one conv block, e.g. (8, 16, 32)")
        blocks: list[nn.Module] = []
        width = c + (2 if self.coord_channels else 0)
        for filters in channels:
            blocks.append(nn.Conv2d(width, filters, kernel_size, padding="same"))  # net_c = X * K
            blocks.append(nn.ReLU())  # H = ReLU(net_c)
            if min(h, w) >= 2:  # pooling for dimensionality reduction
                blocks.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            width = filters
        self.blocks = nn.Sequential(*blocks)
        if global_pool not in ("avg", "max"):
            raise ValueError(f"global_pool must be 'avg' or 'max', got {global_pool!r}")
        self.global_pool = (
            nn.AdaptiveAvgPool2d(1) if global_pool == "avg" else nn.AdaptiveMaxPool2d(1)
        )
        self.dense = nn.Linear(width, _check_positive("output_dim", output_dim))  # H·W + b
        self.output_dim = int(output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.coord_channels:
            x = coordinate_channels(x)
        h = self.global_pool(self.blocks(x)).flatten(1)
        return torch.relu(self.dense(h))


class CNNBackbone(Backbone):
    """Feed-forward backbone for image observations (uint8 ``H x W x C``)."""

    name = "cnn"
    is_recurrent = False

    def __init__(
        self,
        observation_space: spaces.Space,
        channels: Sequence[int] = (8, 16, 32),
        kernel_size: int = 3,
        output_dim: int = 128,
        coord_channels: bool = True,
        hidden_size: int | None = None,
        global_pool: str = "max",
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
            self.encoder.image_shape, channels, kernel_size, output_dim, coord_channels, global_pool
        )
        self.output_dim = self.body.output_dim

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
