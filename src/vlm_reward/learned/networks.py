"""The small networks learned rewards train: an ensemble of CNNs (frames) or MLPs (vectors).

The CNN is deliberately small (a 4x4 patch convolution, one 3x3 convolution, one hidden layer):
at 32x32 an ensemble of 3 scores 256 frames in a few milliseconds on one CPU core, so the
learned reward costs next to nothing beside the VLM it replaces. The MLP members run as one
batched matrix product per layer. Members differ only by their random initialisation, which is
what makes their spread a useful measure of where the model is unsure (the query rule of the
learned rewards). CNN members run one after the other: on CPU that is faster than one grouped
convolution over all of them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vlm_reward.errors import ConfigError, FrameError
from vlm_reward.preprocess import as_frame_batch

__all__ = ["RewardEnsemble", "downsample"]

_CHUNK = 256  # frames resized per interpolate call
_PATCH = 4  # the first convolution sees 4x4 patches, stride 4
_POOLED = 4  # CNN features are pooled to a 4x4 grid, so any frame size works


def downsample(frames: np.ndarray, size: int) -> np.ndarray:
    """Resize uint8 frames ``(N, H, W, 3)`` to ``(N, size, size, 3)`` uint8, batched.

    Antialiased bilinear interpolation (the filter widens with the shrink factor, as PIL's
    does), so a thin pole in a 400x400 frame still leaves a trace at 32x32 instead of
    vanishing between samples. It runs on the uint8 frames directly (torch's vectorised uint8
    kernel, about 20x faster than converting to float first), which matters because every
    env step passes through here. The frame is squashed to a square, not cropped: nothing at
    the edges is lost.

    Example:
        >>> import numpy as np
        >>> downsample(np.full((2, 40, 60, 3), 200, np.uint8), 8).shape
        (2, 8, 8, 3)
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"downsample: size must be a positive int, got {size!r}")
    batch = as_frame_batch(frames)
    n, h, w, _ = batch.shape
    if (h, w) == (size, size):
        return batch.numpy().copy()
    out = torch.empty((n, size, size, 3), dtype=torch.uint8)
    for start in range(0, n, _CHUNK):
        x = batch[start:start + _CHUNK].permute(0, 3, 1, 2)  # a channels-last view, no copy
        y = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True,
                          align_corners=False)
        out[start:start + _CHUNK] = y.permute(0, 2, 3, 1)
    return out.numpy()


class RewardEnsemble(nn.Module):
    """``members`` independent reward networks evaluated together: ``forward(x) -> (members, N)``.

    Args:
        input_shape: ``(S, S, 3)`` for uint8 frames (a small CNN per member; pixels are scaled
            to [0, 1] inside), or ``(D,)`` for float vectors (an MLP per member, inputs
            standardised by stats set with :meth:`set_input_stats`).
        members: networks in the ensemble.
        hidden: width of the hidden layers.
        seed: seeds the initialisation (without touching the global torch RNG); None uses it.

    Example:
        >>> import torch
        >>> net = RewardEnsemble((4,), members=3, hidden=8, seed=0)
        >>> tuple(net(torch.zeros(5, 4)).shape)
        (3, 5)
    """

    def __init__(self, input_shape: tuple[int, ...], members: int, hidden: int,
                 seed: int | None = None) -> None:
        super().__init__()
        input_shape = tuple(int(d) for d in input_shape)
        if members < 1:
            raise ConfigError(f"RewardEnsemble: members must be >= 1, got {members}")
        if hidden < 1:
            raise ConfigError(f"RewardEnsemble: hidden must be >= 1, got {hidden}")
        if len(input_shape) == 3 and input_shape[2] == 3 and input_shape[0] == input_shape[1]:
            self.kind = "frames"
        elif len(input_shape) == 1 and input_shape[0] >= 1:
            self.kind = "vector"
        else:
            raise ConfigError(
                f"RewardEnsemble: input_shape must be (S, S, 3) for frames or (D,) for vectors, "
                f"got {input_shape}"
            )
        self.input_shape = input_shape
        self.members = int(members)
        self.hidden = int(hidden)
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            if self.kind == "frames":
                self._build_cnn()
            else:
                self._build_mlp()
        channels = 3 if self.kind == "frames" else input_shape[0]
        self.register_buffer("input_mean", torch.zeros(channels))
        self.register_buffer("input_std", torch.ones(channels))

    @property
    def spec(self) -> dict[str, Any]:
        """The constructor arguments: ``RewardEnsemble(**net.spec)`` rebuilds the architecture."""
        return {"input_shape": list(self.input_shape), "members": self.members,
                "hidden": self.hidden}

    def _build_cnn(self) -> None:
        channels = max(8, self.hidden // 8)  # 8 then 16 channels at the default width 64
        side = (self.input_shape[0] // _PATCH + 1) // 2  # after both convolutions
        pool: nn.Module = nn.Identity() if side == _POOLED else nn.AdaptiveAvgPool2d(_POOLED)
        self.cnns = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(3, channels, _PATCH, stride=_PATCH, padding=0),
                nn.ReLU(inplace=True),
                nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1),
                nn.ReLU(inplace=True),
                pool,
                nn.Flatten(),
                nn.Linear(2 * channels * _POOLED * _POOLED, self.hidden),
                nn.ReLU(inplace=True),
                nn.Linear(self.hidden, 1),
            )
            for _ in range(self.members)
        )

    def _build_mlp(self) -> None:
        m, d, h = self.members, self.input_shape[0], self.hidden
        self.w0, self.b0 = _member_linear(m, d, h)
        self.w1, self.b1 = _member_linear(m, h, h)
        self.w2, self.b2 = _member_linear(m, h, 1)

    @torch.no_grad()
    def set_input_stats(self, inputs: Any) -> None:
        """Standardise inputs by the mean and std of ``inputs`` (per feature, or per colour
        channel of frames in [0, 1]); call it once enough data is stored, before training."""
        x = self._as_float(inputs)
        dims = (0, 2, 3) if self.kind == "frames" else (0,)
        self.input_mean.copy_(x.mean(dim=dims))
        std = x.std(dim=dims) if x.shape[0] > 1 else torch.ones_like(self.input_mean)
        self.input_std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))

    def _as_float(self, x: Any) -> torch.Tensor:
        """Inputs as float ``(N, 3, S, S)`` in [0, 1] (frames) or ``(N, D)``, checked."""
        device = self.input_mean.device
        if self.kind == "frames":
            batch = as_frame_batch(x)
            if tuple(batch.shape[1:]) != self.input_shape:
                side = self.input_shape[0]
                raise FrameError(
                    f"RewardEnsemble: expected frames of shape (N, {side}, {side}, 3), "
                    f"got {tuple(batch.shape)}; resize them with downsample()"
                )
            return batch.to(device).permute(0, 3, 1, 2).float().div_(255.0)
        t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
        if t.ndim != 2 or t.shape[1] != self.input_shape[0]:
            raise ConfigError(
                f"RewardEnsemble: expected vectors of shape (N, {self.input_shape[0]}), "
                f"got {tuple(t.shape)}"
            )
        return t.to(device=device, dtype=torch.float32)

    def forward(self, x: Any) -> torch.Tensor:
        """Rewards of every member for every input, ``(members, N)`` float32."""
        if self.kind == "frames":
            z = self._standardised(x)
            return torch.stack([cnn(z).squeeze(-1) for cnn in self.cnns])
        z = torch.relu(torch.einsum("nd,mdh->mnh", self._standardised(x), self.w0) + self.b0)
        return self._mlp_head(z)

    def forward_each(self, x: Any) -> torch.Tensor:
        """Member ``m``'s rewards for its own inputs ``x[m]``: ``(members, N, ...)`` in,
        ``(members, N)`` out. For training members on different batches (a bootstrap), at
        the cost of one forward pass of the ensemble."""
        x = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
        if x.ndim != len(self.input_shape) + 2 or x.shape[0] != self.members:
            raise ConfigError(
                f"RewardEnsemble.forward_each: expected inputs of shape ({self.members}, N, "
                f"{', '.join(map(str, self.input_shape))}), got {tuple(x.shape)}"
            )
        m, n = x.shape[:2]
        z = self._standardised(x.reshape(m * n, *x.shape[2:]))
        if self.kind == "frames":
            z = z.reshape(m, n, *z.shape[1:])
            return torch.stack([cnn(z[i]).squeeze(-1) for i, cnn in enumerate(self.cnns)])
        z = torch.relu(torch.bmm(z.reshape(m, n, -1), self.w0) + self.b0)
        return self._mlp_head(z)

    def _standardised(self, x: Any) -> torch.Tensor:
        z = self._as_float(x)
        if self.kind == "frames":
            return (z - self.input_mean.view(1, 3, 1, 1)) / self.input_std.view(1, 3, 1, 1)
        return (z - self.input_mean) / self.input_std

    def _mlp_head(self, z: torch.Tensor) -> torch.Tensor:
        z = torch.relu(torch.bmm(z, self.w1) + self.b1)
        return (torch.bmm(z, self.w2) + self.b2).squeeze(-1)


def _member_linear(members: int, fan_in: int, fan_out: int) -> tuple[nn.Parameter, nn.Parameter]:
    """Weights ``(M, fan_in, fan_out)`` and biases ``(M, 1, fan_out)`` initialised as
    ``nn.Linear`` initialises one layer, independently per member."""
    bound = 1.0 / math.sqrt(fan_in)
    weight = nn.Parameter(torch.empty(members, fan_in, fan_out).uniform_(-bound, bound))
    bias = nn.Parameter(torch.empty(members, 1, fan_out).uniform_(-bound, bound))
    return weight, bias
