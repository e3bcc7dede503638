"""Batched tensor preprocessing against open_clip's reference PIL transform, and frame checks.

Documented tolerance (docs/core.md): at most 2 grey levels per pixel, i.e. max abs diff
<= 2/255/std in normalised units, and image
embeddings with cosine similarity > 0.9999 to those of the reference transform.
"""

from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image

from vlm_reward.errors import ConfigError, FrameError
from vlm_reward.preprocess import ImagePreprocess, as_frame_batch

MEAN, STD = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD


@pytest.fixture(scope="module")
def frames() -> dict[str, np.ndarray]:
    import gymnasium as gym

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    env.unwrapped.state = np.array([0.5, 0.0, 0.15, 0.0])
    cart = env.render()
    env.close()
    rng = np.random.default_rng(0)
    return {
        "cartpole_400x600": cart,
        "noise_400x600": rng.integers(0, 256, (400, 600, 3), dtype=np.uint8),
        "noise_257x311": rng.integers(0, 256, (257, 311, 3), dtype=np.uint8),
        "noise_tall_311x200": rng.integers(0, 256, (311, 200, 3), dtype=np.uint8),
        "upscale_100x80": rng.integers(0, 256, (100, 80, 3), dtype=np.uint8),
    }


def _reference(img: np.ndarray, pp: ImagePreprocess) -> torch.Tensor:
    ref = open_clip.image_transform(
        pp.size[0], is_train=False, mean=pp.mean, std=pp.std, interpolation=pp.interpolation,
        resize_mode=pp.resize_mode, fill_color=pp.fill_color,
    )
    return ref(Image.fromarray(img))


@pytest.mark.parametrize("uint8_resize", [True, False])
@pytest.mark.parametrize("resize_mode", ["shortest", "squash", "longest"])
@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear"])
def test_matches_open_clip_reference(frames: dict[str, np.ndarray], resize_mode: str,
                                     interpolation: str, uint8_resize: bool) -> None:
    pp = ImagePreprocess(size=(224, 224), mean=MEAN, std=STD, interpolation=interpolation,
                         resize_mode=resize_mode, uint8_resize=uint8_resize)
    tol = 2 / 255 / min(STD) + 1e-5  # two grey levels
    for name, img in frames.items():
        ours = pp(torch.from_numpy(img)[None])[0]
        ref = _reference(img, pp)
        assert ours.shape == ref.shape, name
        diff = (ours - ref).abs()
        assert diff.max() <= tol, (name, float(diff.max()))
        assert diff.mean() < 0.005, (name, float(diff.mean()))
    cart = frames["cartpole_400x600"]
    assert (pp(torch.from_numpy(cart)[None])[0] - _reference(cart, pp)).abs().mean() < 1e-3


def test_batch_equals_per_frame(frames: dict[str, np.ndarray]) -> None:
    pp = ImagePreprocess(size=(224, 224), mean=MEAN, std=STD)
    batch = np.stack([frames["cartpole_400x600"], frames["noise_400x600"]])
    out = pp(torch.from_numpy(batch))
    for i in range(2):
        assert torch.equal(out[i], pp(torch.from_numpy(batch[i])[None])[0])


@pytest.mark.slow
def test_embedding_cosine_to_reference(frames: dict[str, np.ndarray]) -> None:
    """Through a real ViT-B-32 image tower (random weights): embeddings agree to cos > 0.9999."""
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None).eval()
    pp = ImagePreprocess.from_config(open_clip.get_model_preprocess_cfg(model))
    imgs = [frames["cartpole_400x600"], frames["noise_400x600"]]
    with torch.inference_mode():
        ours = model.encode_image(pp(torch.from_numpy(np.stack(imgs))))
        ref = model.encode_image(torch.stack([_reference(i, pp) for i in imgs]))
    cos = torch.nn.functional.cosine_similarity(ours, ref, dim=-1)
    assert cos.min() > 0.9999, cos


def test_non_square_target_and_from_config() -> None:
    pp = ImagePreprocess.from_config({"size": [64, 96], "mean": [0.5], "std": [0.5],
                                      "resize_mode": "shortest"})
    assert pp.mean == (0.5, 0.5, 0.5)
    img = np.random.default_rng(1).integers(0, 256, (120, 120, 3), dtype=np.uint8)
    assert pp(torch.from_numpy(img)[None]).shape == (1, 3, 64, 96)


def test_output_dtype_and_identity_size() -> None:
    pp = ImagePreprocess(size=(32, 32), mean=(0.0,) * 3, std=(1.0,) * 3)
    img = torch.arange(32 * 32 * 3, dtype=torch.int64).remainder(256).to(torch.uint8)
    img = img.view(1, 32, 32, 3)
    out = pp(img, torch.bfloat16)
    assert out.dtype == torch.bfloat16
    assert torch.allclose(pp(img)[0], img[0].permute(2, 0, 1).float() / 255)


def test_bad_config_rejected() -> None:
    with pytest.raises(ConfigError, match="interpolation"):
        ImagePreprocess(size=(8, 8), mean=MEAN, std=STD, interpolation="lanczos")
    with pytest.raises(ConfigError, match="resize_mode"):
        ImagePreprocess(size=(8, 8), mean=MEAN, std=STD, resize_mode="crop")


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        (np.zeros((2, 3, 32, 32), np.uint8), "channels-first"),
        (np.zeros((2, 32, 32, 4), np.uint8), "3 RGB channels"),
        (np.zeros((2, 32, 32, 3), np.float32), "dtype uint8"),
        (np.zeros((32, 32), np.uint8), "shape"),
        (np.zeros((0, 32, 32, 3), np.uint8), "empty batch"),
        ([], "expected a uint8 array"),
    ],
)
def test_frame_errors(frames: object, match: str) -> None:
    with pytest.raises(FrameError, match=match):
        as_frame_batch(frames)


def test_single_frame_and_list_accepted() -> None:
    one = np.zeros((8, 9, 3), np.uint8)
    assert as_frame_batch(one).shape == (1, 8, 9, 3)
    assert as_frame_batch([one, one]).shape == (2, 8, 9, 3)


def test_embedder_rejects_bad_frames(tiny_embedder) -> None:
    with pytest.raises(FrameError):
        tiny_embedder.encode_images(np.zeros((2, 32, 32, 3), np.float64))


def test_frames_to_device_pins_and_copies_without_blocking_to_cuda(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CUDA branch, exercised on a CPU-only machine by recording the tensor calls."""
    from vlm_reward.preprocess import frames_to_device

    calls: list[tuple] = []
    monkeypatch.setattr(torch.Tensor, "is_pinned", lambda self: False)

    def pin(self: torch.Tensor) -> torch.Tensor:
        calls.append(("pin",))
        return self

    def to(self: torch.Tensor, device: torch.device, non_blocking: bool = False) -> torch.Tensor:
        calls.append(("to", device, non_blocking))
        return self

    monkeypatch.setattr(torch.Tensor, "pin_memory", pin)
    monkeypatch.setattr(torch.Tensor, "to", to)
    frames = torch.zeros(2, 4, 4, 3, dtype=torch.uint8)
    frames_to_device(frames, torch.device("cuda"))
    assert calls == [("pin",), ("to", torch.device("cuda"), True)]


def test_frames_to_device_on_the_same_device_is_a_no_op() -> None:
    from vlm_reward.preprocess import frames_to_device

    frames = torch.zeros(2, 4, 4, 3, dtype=torch.uint8)
    assert frames_to_device(frames, torch.device("cpu")) is frames
