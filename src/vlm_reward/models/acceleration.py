"""Fast-path switches for image-tower inference, each measured and each switchable.

Reward inference dominates the cost of VLM-RM training, so the image tower gets a set of
optional speed-ups. Every switch lives in :class:`FastPath`; :func:`apply_fast_path` applies
them to a loaded :class:`~vlm_reward.models.base.Embedder` in place. Defaults are on only where
``benchmarks/`` showed a gain on CPU *and* ``benchmarks.fast_path_quality`` showed the
embeddings stay within cosine 0.99 of fp32 (see BENCHMARKS.md for the figures):

* ``uint8_resize`` (default on): resize frames as uint8 with torch's vectorised antialiased
  kernel instead of in float. About 20x faster than the float kernel on CPU and closer to PIL.
* ``channels_last`` (default on): NHWC memory layout for convolutional towers (ResNets);
  a no-op for ViTs, whose only convolution is the patch embedding.
* ``reuse_memory`` (default on, CPU with glibc): keep freed heap memory for the next
  allocation instead of handing it back to the OS. A ViT forward pass allocates its large
  activations afresh for every layer; with glibc's defaults each one is a new ``mmap`` whose
  pages fault on first touch (about 200k page faults per 64-frame ViT-B-32 pass, a quarter of
  its time on a VM). Process-wide, like ``num_threads``.
* ``quick_gelu_as_silu`` (default on): rewrite each MLP's QuickGELU ``x * sigmoid(1.702 x)``
  as SiLU by folding the 1.702 scale into the surrounding ``nn.Linear`` weights (exact in
  real arithmetic): one elementwise pass instead of three. OpenAI-style ViTs only.
* ``num_threads``: intra-op threads for torch (``None`` leaves torch's choice, one per core).
* ``int8`` (default off): dynamic int8 quantisation of the tower's ``nn.Linear`` layers
  (weights int8, activations quantised on the fly). CPU only, fp32 only; it changes the
  numbers slightly, so it is opt-in.
* ``compile`` (default off): ``torch.compile`` (inductor, with weight freezing) of the image
  tower: fuses bias, activation and layer-norm passes into fewer kernels. Costs tens of
  seconds to minutes of compilation per batch shape before it pays off.
* ``onnx`` (default off): export the tower to ONNX and run it with ONNX Runtime
  (``pip install "vlm-reward[onnx]"``). CPU only, fp32 only.

bf16 is not a switch here: precision is chosen by :func:`vlm_reward.device.resolve_precision`,
which picks bf16 only on hardware with native bf16 units (emulated bf16 is slower than fp32).

Example:
    >>> from vlm_reward.models.acceleration import FastPath
    >>> FastPath.from_value({"int8": True}).int8
    True
    >>> FastPath.from_value(None) == FastPath()
    True
"""

from __future__ import annotations

import dataclasses
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from vlm_reward.errors import ConfigError, DependencyNotInstalled

if TYPE_CHECKING:
    from vlm_reward.models.base import Embedder

__all__ = ["FastPath", "OnnxImageTower", "apply_fast_path", "reuse_freed_memory",
           "set_num_threads"]


@dataclass(frozen=True)
class FastPath:
    """Which image-tower speed-ups to apply; see the module docstring for what each does.

    Attributes:
        uint8_resize: resize frames as uint8 (fast vectorised kernel, PIL-exact within 1-2
            grey levels) rather than as float.
        channels_last: NHWC memory layout for convolutional image towers.
        reuse_memory: keep freed memory in glibc's heap (no page faults on reallocation).
        quick_gelu_as_silu: QuickGELU MLPs computed as SiLU with the scale folded into weights.
        num_threads: torch intra-op threads; ``None`` keeps torch's default. Process-wide.
        int8: dynamic int8 quantisation of ``nn.Linear`` layers of the image tower (CPU, fp32).
        compile: ``torch.compile`` the image tower with the inductor backend.
        onnx: run the image tower with ONNX Runtime (CPU, fp32).
    """

    uint8_resize: bool = True
    channels_last: bool = True
    reuse_memory: bool = True
    quick_gelu_as_silu: bool = True
    num_threads: int | None = None
    int8: bool = False
    compile: bool = False
    onnx: bool = False

    @classmethod
    def from_value(cls, value: FastPath | Mapping[str, Any] | None) -> FastPath:
        """Build from ``None`` (defaults), a mapping of switch names (e.g. from YAML) or itself.

        Raises:
            ConfigError: on an unknown switch name or a value of the wrong type.
        """
        if value is None:
            return cls()
        if isinstance(value, FastPath):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"fast_path: expected a mapping of switches such as {{'int8': true}}, "
                f"got {type(value).__name__}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ConfigError(
                f"fast_path: unknown switch(es) {', '.join(unknown)}; "
                f"valid switches: {', '.join(sorted(names))}"
            )
        for key, val in value.items():
            if key == "num_threads":
                if val is not None and (isinstance(val, bool) or not isinstance(val, int)
                                        or val < 1):
                    raise ConfigError(
                        f"fast_path.num_threads: expected a positive integer or null, got {val!r}"
                    )
            elif not isinstance(val, bool):
                raise ConfigError(f"fast_path.{key}: expected true or false, got {val!r}")
        return cls(**dict(value))

    @classmethod
    def off(cls) -> FastPath:
        """Every switch off: the plain fp32 eager path, for comparisons and debugging."""
        return cls(uint8_resize=False, channels_last=False, reuse_memory=False,
                   quick_gelu_as_silu=False)

    def enabled(self) -> tuple[str, ...]:
        """Names of the switches that are on (``num_threads`` counts when set)."""
        out = []
        for f in dataclasses.fields(self):
            val = getattr(self, f.name)
            if (f.name == "num_threads" and val is not None) or val is True:
                out.append(f.name)
        return tuple(out)


def set_num_threads(num_threads: int | None) -> None:
    """Set torch's intra-op thread count (process-wide); ``None`` leaves it unchanged."""
    if num_threads is None:
        return
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ConfigError(f"num_threads: expected a positive integer, got {num_threads!r}")
    torch.set_num_threads(num_threads)


# glibc mallopt parameters (malloc.h) and its defaults, restored when the switch goes off
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_GLIBC_DEFAULT_THRESHOLD = 128 * 1024
# the largest mmap threshold glibc accepts on 64-bit (half its 64 MiB arena heap)
_MAX_MMAP_THRESHOLD = 32 * 1024 * 1024


def reuse_freed_memory(enabled: bool = True) -> bool:
    """Make glibc keep freed memory for reuse (``enabled``) or restore its defaults.

    Allocations up to 32 MiB then come from the heap, and freed memory is not trimmed back
    to the OS, so a model's activation buffers are recycled without page faults. Returns
    False where it does not apply (not glibc, e.g. macOS, Windows or musl).
    """
    import ctypes
    import ctypes.util
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    mmap_threshold = _MAX_MMAP_THRESHOLD if enabled else _GLIBC_DEFAULT_THRESHOLD
    trim_threshold = 2**31 - 1 if enabled else _GLIBC_DEFAULT_THRESHOLD
    ok = libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1
    return libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold) == 1 and ok


def apply_fast_path(
    embedder: Embedder, fast_path: FastPath | Mapping[str, Any] | None = None
) -> Embedder:
    """Apply the switches of ``fast_path`` to ``embedder`` in place and return it.

    Model-level switches act on an ``open_clip``-style model: an embedder attribute ``model``
    whose ``visual`` attribute is the image tower (the open_clip backend). Switches that do not
    apply to the embedder (for example ``channels_last`` on a ViT) are skipped; the switches
    that took effect are recorded in ``embedder.fast_path_applied`` so benchmarks and logs can
    say what actually ran.

    Calling it again re-sets ``uint8_resize`` and ``channels_last`` (so ``FastPath.off()``
    after the loader's defaults gives the plain path), but ``int8``, ``onnx`` and ``compile``
    replace the image tower and stay in effect: load the model again to drop them.

    Raises:
        ConfigError: for combinations that cannot work (int8/onnx on GPU or with bf16,
            int8 together with onnx, a model without an image tower for model-level switches).
        DependencyNotInstalled: ``onnx`` requested but ONNX Runtime is not installed.
    """
    fp = FastPath.from_value(fast_path)
    # tower replacements of an earlier call stay in effect; everything else is re-decided
    applied = [a for a in getattr(embedder, "fast_path_applied", ()) if a in _REPLACES_TOWER]
    set_num_threads(fp.num_threads)
    if fp.num_threads is not None:
        applied.append("num_threads")
    if reuse_freed_memory(fp.reuse_memory) and fp.reuse_memory:
        applied.append("reuse_memory")

    preprocess = getattr(embedder, "preprocess", None)
    if preprocess is not None and hasattr(preprocess, "uint8_resize"):
        if preprocess.uint8_resize != fp.uint8_resize:
            embedder.preprocess = dataclasses.replace(  # type: ignore[attr-defined]
                preprocess, uint8_resize=fp.uint8_resize
            )
        if fp.uint8_resize:
            applied.append("uint8_resize")

    visual = _image_tower(embedder)
    if visual is None and (fp.int8 or fp.compile or fp.onnx):
        raise ConfigError(
            f"fast_path: int8/compile/onnx need an open_clip image tower; "
            f"{type(embedder).__name__} has none. Turn these switches off for this model."
        )
    if fp.int8 and fp.onnx:
        raise ConfigError("fast_path: choose one of int8 and onnx, not both")
    if (fp.int8 or fp.onnx) and (embedder.device.type != "cpu" or embedder.dtype != torch.float32):
        raise ConfigError(
            f"fast_path: int8 and onnx run on CPU in fp32 only, but the model is on "
            f"{embedder.device} in {embedder.dtype}; use device cpu and precision fp32, "
            "or turn the switch off"
        )

    model: Any = getattr(embedder, "model", None)  # no model: no tower switches (see above)
    if visual is not None and _has_conv2d(visual, min_count=2):
        if fp.channels_last:
            visual.to(memory_format=torch.channels_last)
            applied.append("channels_last")
        else:  # undo an earlier call, so that "off" really means the plain layout
            visual.to(memory_format=torch.contiguous_format)
    if (visual is not None and fp.quick_gelu_as_silu and "quick_gelu_as_silu" not in applied
            and _quick_gelu_as_silu(visual)):
        applied.append("quick_gelu_as_silu")
    if visual is not None and fp.int8 and "int8" not in applied:
        quantized = _quantize_int8(visual)
        if quantized is not None:
            model.visual = quantized
            applied.append("int8")
    if visual is not None and fp.onnx and "onnx" not in applied:
        model.visual = OnnxImageTower.from_module(visual, _input_size(embedder))
        applied.append("onnx")
    if visual is not None and fp.compile and "compile" not in applied:
        # freezing folds the (inference-only) weights into the graph, which lets inductor
        # prepack them for oneDNN and fuse bias and activation into the matmuls
        model.visual = torch.compile(model.visual, options={"freezing": True})
        applied.append("compile")
    embedder.fast_path = fp  # type: ignore[attr-defined]
    embedder.fast_path_applied = tuple(dict.fromkeys(applied))  # type: ignore[attr-defined]
    return embedder


_REPLACES_TOWER = ("int8", "onnx", "compile", "quick_gelu_as_silu")
_QUICK_GELU_SCALE = 1.702


def _quick_gelu_as_silu(visual: torch.nn.Module) -> bool:
    """Rewrite ``c_proj(quick_gelu(c_fc(h)))`` MLPs as ``c_proj'(silu(c_fc'(h))) `` in place.

    ``x * sigmoid(a x) == silu(a x) / a``: ``c_fc`` is scaled by ``a`` and ``c_proj``'s weight
    by ``1 / a``, computed in float32 and rounded once to the weights' dtype. Returns whether
    any MLP was rewritten (False for towers with exact GELU, e.g. most LAION ViTs).
    """
    changed = False
    for mlp in visual.modules():
        act = getattr(mlp, "gelu", None)
        fc, proj = getattr(mlp, "c_fc", None), getattr(mlp, "c_proj", None)
        if not (type(act).__name__ == "QuickGELU" and type(fc) is torch.nn.Linear
                and type(proj) is torch.nn.Linear):
            continue
        with torch.no_grad():
            fc.weight.copy_(fc.weight.float() * _QUICK_GELU_SCALE)
            if fc.bias is not None:
                fc.bias.copy_(fc.bias.float() * _QUICK_GELU_SCALE)
            proj.weight.copy_(proj.weight.float() / _QUICK_GELU_SCALE)
        # in place: c_fc's output is consumed only here, and overwriting it saves a fresh
        # (batch x tokens x 4 width) allocation per layer (+5 % frames/s, bf16 ViT-B-32)
        mlp.gelu = torch.nn.SiLU(inplace=True)  # type: ignore[union-attr]
        changed = True
    return changed


def _image_tower(embedder: Embedder) -> torch.nn.Module | None:
    model = getattr(embedder, "model", None)
    visual = getattr(model, "visual", None)
    return visual if isinstance(visual, torch.nn.Module) else None


def _has_conv2d(module: torch.nn.Module, min_count: int) -> bool:
    """True for convolutional towers; a ViT has exactly one conv (its patch embedding)."""
    count = sum(isinstance(m, torch.nn.Conv2d) for m in module.modules())
    return count >= min_count


def _input_size(embedder: Embedder) -> tuple[int, int]:
    size = getattr(getattr(embedder, "preprocess", None), "size", None)
    if size is None:
        raise ConfigError("fast_path.onnx: the embedder has no preprocess size to export with")
    return int(size[0]), int(size[1])


def _quantize_int8(visual: torch.nn.Module) -> torch.nn.Module | None:
    """Dynamic int8 quantisation of the tower's ``nn.Linear`` layers (fbgemm on x86).

    Only layers that are *called* as modules can be swapped: attention pools (ResNet CLIP)
    and ``nn.MultiheadAttention`` read their projections' weights directly, so their Linear
    children stay fp32. Returns ``None`` when no layer qualifies (nothing to gain).
    """
    from torch.ao.quantization import quantize_dynamic

    names = set()
    for parent_name, parent in visual.named_modules():
        if isinstance(parent, torch.nn.MultiheadAttention) or "AttentionPool" in type(
            parent
        ).__name__:
            continue
        for child_name, child in parent.named_children():
            if type(child) is torch.nn.Linear:
                names.add(f"{parent_name}.{child_name}" if parent_name else child_name)
    if not names:
        return None
    with warnings.catch_warnings():
        # torch points eager quantisation users at torchao; the eager API still works and needs
        # no extra package, which is why we use it here.
        warnings.simplefilter("ignore")
        return quantize_dynamic(visual, names, dtype=torch.qint8)


class OnnxImageTower(torch.nn.Module):
    """An image tower exported to ONNX and run by ONNX Runtime, callable like the original.

    Input ``(N, 3, H, W)`` float32, output ``(N, D)`` float32 torch tensors. Used in place of
    ``model.visual`` so ``model.encode_image`` keeps working unchanged.
    """

    def __init__(self, onnx_bytes: bytes, num_threads: int | None = None) -> None:
        super().__init__()
        ort = _import_onnxruntime()
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = num_threads or torch.get_num_threads()
        self.session = ort.InferenceSession(
            onnx_bytes, sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name

    @classmethod
    def from_module(cls, visual: torch.nn.Module, size: tuple[int, int]) -> OnnxImageTower:
        """Export ``visual`` for input ``(N, 3, *size)`` with a dynamic batch axis."""
        _import_onnxruntime()
        example = torch.zeros(2, 3, *size)
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path = Path(tmp) / "visual.onnx"
            torch.onnx.export(
                visual.eval(), (example,), str(path), input_names=["pixels"],
                output_names=["embedding"], dynamic_axes={"pixels": {0: "batch"}},
                opset_version=17, dynamo=False,
            )
            data = path.read_bytes()
        return cls(data)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        arr = pixels.detach().to(torch.float32).contiguous().cpu().numpy()
        out = self.session.run(None, {self.input_name: arr})[0]
        return torch.from_numpy(out)


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise DependencyNotInstalled("onnxruntime", "onnx", "fast_path.onnx") from exc
    return onnxruntime
