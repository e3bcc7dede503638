"""X-CLIP video-language backend: a tiny random XCLIPModel of the real architecture, saved with
save_pretrained (+ CLIP tokenizer + video image processor) and loaded through the public
loader, checked against transformers' own processor and model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tiny_models import fill_hf_cache, save_tiny_hf_clip, save_tiny_xclip
from vlm_reward import load_model
from vlm_reward.errors import (
    CheckpointError,
    ConfigError,
    FrameError,
    ModelNotFoundError,
    WeightsUnavailableError,
)
from vlm_reward.models.specs import parse_spec
from vlm_reward.models.xclip_backend import XCLIPEmbedder, clip_indices

transformers = pytest.importorskip("transformers")
NUM_FRAMES = 4


@pytest.fixture(scope="module")
def xclip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_xclip(tmp_path_factory.mktemp("xclip"), num_frames=NUM_FRAMES)


@pytest.fixture(scope="module")
def xclip(xclip_dir: Path) -> XCLIPEmbedder:
    emb = load_model(f"xclip:{xclip_dir}", device="cpu", precision="fp32")
    assert isinstance(emb, XCLIPEmbedder)
    return emb


def _frames(n: int, seed: int = 0, size: tuple[int, int] = (120, 180)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (n, *size, 3), dtype=np.uint8)
    frames[:, 40:80, 60:120] = (40, 200, 90)  # some structure on the noise
    return frames


def _processor(folder: Path):
    """The folder's own video image processor, PIL-based (the reference implementation)."""
    cls = getattr(transformers, "VideoMAEImageProcessorPil", transformers.VideoMAEImageProcessor)
    return cls.from_pretrained(str(folder))


def _pixels(processor, clip: np.ndarray) -> torch.Tensor:
    return processor.preprocess(videos=[list(clip)], return_tensors="pt")["pixel_values"]


def _reference_video(model, processor, clip: np.ndarray) -> torch.Tensor:
    pixels = _pixels(processor, clip)
    with torch.inference_mode():
        out = model.get_video_features(pixel_values=pixels)
    return F.normalize(out.pooler_output if not isinstance(out, torch.Tensor) else out, dim=-1)


def test_clips_and_text_match_transformers(xclip: XCLIPEmbedder, xclip_dir: Path) -> None:
    assert xclip.is_video and xclip.num_frames == NUM_FRAMES and not xclip.is_random
    processor = _processor(xclip_dir)
    clip = _frames(NUM_FRAMES)
    pixels = _pixels(processor, clip)[0]
    assert (pixels - xclip.preprocess(torch.from_numpy(clip))).abs().max() < 0.02
    ours = xclip.encode_clips(clip[None])
    ref = _reference_video(xclip.model, processor, clip)
    assert F.cosine_similarity(ours, ref).min() > 0.9999
    assert torch.allclose(ours.norm(dim=-1), torch.ones(1), atol=1e-5)

    tok = transformers.AutoTokenizer.from_pretrained(str(xclip_dir))
    prompts = ["a pole swinging up", "a cart moving to the right"]
    with torch.inference_mode():
        ref_t = xclip.model.get_text_features(**tok(prompts, padding=True, return_tensors="pt"))
    ref_t = ref_t if isinstance(ref_t, torch.Tensor) else ref_t.pooler_output
    assert F.cosine_similarity(xclip.encode_text(prompts), ref_t).min() > 0.9999
    assert xclip.logit_scale == pytest.approx(float(xclip.model.logit_scale.detach().exp()))


def test_a_frame_is_embedded_as_a_static_clip(xclip: XCLIPEmbedder, xclip_dir: Path) -> None:
    processor = _processor(xclip_dir)
    frames = _frames(3, seed=1)
    images = xclip.encode_images(frames)
    for i, frame in enumerate(frames):
        static = np.repeat(frame[None], NUM_FRAMES, axis=0)
        ref = _reference_video(xclip.model, processor, static)
        assert F.cosine_similarity(images[i:i + 1], ref).item() > 0.9999
    torch.testing.assert_close(xclip.encode_clips([f[None] for f in frames]), images,
                               atol=1e-5, rtol=0)
    # the video embedding sees the order of the frames: a clip is not its mean frame
    clip = _frames(NUM_FRAMES, seed=2)
    forward, backward = xclip.encode_clips([clip, clip[::-1].copy()])
    assert F.cosine_similarity(forward, backward, dim=0) < 0.99999


def test_clips_are_resampled_and_batched(xclip_dir: Path, xclip: XCLIPEmbedder) -> None:
    assert clip_indices(10, 4).tolist() == [0, 3, 6, 9]
    assert clip_indices(1, 4).tolist() == [0, 0, 0, 0]
    long = _frames(9, seed=3)
    picked = long[clip_indices(9, NUM_FRAMES)]
    torch.testing.assert_close(xclip.encode_clips([long]), xclip.encode_clips([picked]),
                               atol=1e-6, rtol=0)
    clips = [long, long[:2], long[3:8]]
    together = xclip.encode_clips(clips)
    small = load_model(f"xclip:{xclip_dir}", device="cpu", precision="fp32", batch_size=1)
    calls = small.image_calls
    one_by_one = small.encode_clips(clips)  # batch_size below num_frames: one clip a pass
    assert small.image_calls - calls == 3
    torch.testing.assert_close(together, one_by_one, atol=1e-5, rtol=0)
    with pytest.raises(FrameError, match="same"):
        xclip.encode_clips([long, _frames(2, size=(60, 60))])
    with pytest.raises(FrameError, match=r"\(N, T, H, W, 3\)"):
        xclip.encode_clips(long)  # one clip without the batch axis
    assert xclip.fingerprint()["num_frames"] == NUM_FRAMES


def test_spec_forms_and_wrong_model_types(xclip_dir: Path, tmp_path: Path) -> None:
    assert parse_spec(f"xclip:{xclip_dir}").kind == "xclip_dir"
    assert parse_spec("xclip:microsoft/xclip-base-patch32").kind == "xclip_hub_dir"
    with pytest.raises(ModelNotFoundError, match="X-CLIP video model: load it as xclip:"):
        load_model(f"hf:{xclip_dir}", device="cpu")
    clip_dir = save_tiny_hf_clip(tmp_path / "clip")
    with pytest.raises(ModelNotFoundError, match="image model: load it as hf:"):
        load_model(f"xclip:{clip_dir}", device="cpu")
    image_model = load_model(f"hf:{clip_dir}", device="cpu")
    with pytest.raises(ConfigError, match="image model"):
        image_model.encode_clips(_frames(2)[None])


def test_missing_or_partial_weights_are_never_random(xclip_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "noweights"
    shutil.copytree(xclip_dir, folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no weights"):
        load_model(f"xclip:{folder}", device="cpu")
    bigger = tmp_path / "bigger"
    shutil.copytree(xclip_dir, bigger)
    cfg = json.loads((bigger / "config.json").read_text())
    cfg["vision_config"]["mit_num_hidden_layers"] = 2  # the weights have one MIT layer
    (bigger / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="refusing to fill them with random"):
        load_model(f"xclip:{bigger}", device="cpu")


def test_hub_repo_from_cache_and_uncached_offline(xclip_dir: Path, xclip: XCLIPEmbedder,
                                                  tmp_path: Path) -> None:
    fill_hf_cache(tmp_path, "tiny/xclip", {p.name: p for p in xclip_dir.iterdir() if p.is_file()})
    emb = load_model("xclip:tiny/xclip", device="cpu", precision="fp32", cache_dir=tmp_path,
                     offline=True)
    clip = _frames(NUM_FRAMES, seed=4)
    torch.testing.assert_close(emb.encode_clips(clip[None]), xclip.encode_clips(clip[None]),
                               atol=1e-6, rtol=0)
    with pytest.raises(WeightsUnavailableError, match=r"offline mode.*xclip-base-patch32"):
        load_model("xclip:microsoft/xclip-base-patch32", device="cpu", cache_dir=tmp_path,
                   offline=True)
