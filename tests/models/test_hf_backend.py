"""transformers backend: tiny random CLIPModel / SiglipModel folders saved with save_pretrained
(+ tokenizer + image processor) and loaded through the public loader."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tiny_models import save_tiny_hf_clip, save_tiny_hf_siglip
from vlm_reward import load_model
from vlm_reward.errors import CheckpointError, DependencyNotInstalled, ModelNotFoundError
from vlm_reward.models.hf_backend import TransformersEmbedder, preprocess_from_hf_config

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def hf_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_hf_clip(tmp_path_factory.mktemp("hf_clip"))


@pytest.fixture(scope="module")
def hf_siglip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_hf_siglip(tmp_path_factory.mktemp("hf_siglip"))


def _frames(n: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (n, 400, 600, 3), dtype=np.uint8)
    frames[:, 150:250, 250:350] = (40, 200, 90)  # a block of structure on the noise
    return frames


@pytest.mark.parametrize("which", ["clip", "siglip"])
def test_matches_transformers_reference(which: str, hf_clip_dir: Path,
                                        hf_siglip_dir: Path) -> None:
    """Our batched path vs the folder's own image processor (PIL) and tokenizer."""
    import transformers

    folder = hf_clip_dir if which == "clip" else hf_siglip_dir
    emb = load_model(f"hf:{folder}", device="cpu", precision="fp32")
    assert isinstance(emb, TransformersEmbedder) and not emb.is_random
    frames = _frames()
    model = emb.model
    processor = transformers.AutoImageProcessor.from_pretrained(str(folder), use_fast=False)
    pixels = processor(images=[Image.fromarray(f) for f in frames],
                       return_tensors="pt")["pixel_values"]
    assert (pixels - emb.preprocess(torch.from_numpy(frames))).abs().max() < 0.02
    with torch.inference_mode():
        ref = model.get_image_features(pixel_values=pixels)
        ref = ref if isinstance(ref, torch.Tensor) else ref.pooler_output
    ours = emb.encode_images(frames)
    cos = torch.nn.functional.cosine_similarity(ours, ref, dim=-1)
    assert cos.min() > 0.9999
    assert torch.allclose(ours.norm(dim=-1), torch.ones(len(frames)), atol=1e-5)

    tok = transformers.AutoTokenizer.from_pretrained(str(folder))
    prompts = ["a pole vertically upright on top of a cart", "a car at the peak"]
    kwargs = ({"padding": "max_length", "max_length": emb.context_length}
              if which == "siglip" else {"padding": True})
    enc = tok(prompts, return_tensors="pt", **kwargs)
    if which == "siglip":
        enc.pop("attention_mask", None)
    with torch.inference_mode():
        ref_t = model.get_text_features(**enc)
        ref_t = ref_t if isinstance(ref_t, torch.Tensor) else ref_t.pooler_output
    cos_t = torch.nn.functional.cosine_similarity(emb.encode_text(prompts), ref_t, dim=-1)
    assert cos_t.min() > 0.9999


def test_bare_folder_autodetected(hf_clip_dir: Path) -> None:
    emb = load_model(str(hf_clip_dir), device="cpu", precision="fp32")
    assert isinstance(emb, TransformersEmbedder) and emb.model_type == "clip"
    assert emb.preprocess.resize_mode == "shortest" and emb.preprocess.size == (32, 32)


def test_siglip_preprocess_from_processor_config(hf_siglip_dir: Path) -> None:
    emb = load_model(f"hf:{hf_siglip_dir}", device="cpu", precision="fp32")
    assert emb.preprocess.resize_mode == "squash"
    assert emb.preprocess.mean == (0.5, 0.5, 0.5)


def test_long_prompt_warns(hf_siglip_dir: Path) -> None:
    emb = load_model(f"hf:{hf_siglip_dir}", device="cpu", precision="fp32")
    prompt = "a humanoid robot kneeling " * 10
    with pytest.warns(UserWarning, match="it was truncated"):
        emb.encode_text([prompt])


def test_missing_weights_never_random(hf_clip_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "noweights"
    shutil.copytree(hf_clip_dir, folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no weights"):
        load_model(f"hf:{folder}", device="cpu")


def test_corrupt_weights(hf_clip_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "corrupt"
    shutil.copytree(hf_clip_dir, folder)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="cannot load the weights"):
        load_model(f"hf:{folder}", device="cpu")


def test_weights_of_other_architecture(hf_clip_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "bigger"
    shutil.copytree(hf_clip_dir, folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["text_config"]["num_hidden_layers"] = 3  # weights only have 2 layers
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="refusing to fill them with random"):
        load_model(f"hf:{folder}", device="cpu")


def test_unsupported_model_type(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelNotFoundError, match=r"'bert' is not supported.*clip, siglip"):
        load_model(f"hf:{tmp_path}", device="cpu")


def test_missing_tokenizer(hf_clip_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "notok"
    shutil.copytree(hf_clip_dir, folder)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).unlink()
    with pytest.raises(CheckpointError, match="tokenizer"):
        load_model(f"hf:{folder}", device="cpu")


def test_transformers_missing(hf_clip_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(DependencyNotInstalled, match=r"pip install 'vlm-reward\[hf\]'"):
        load_model(f"hf:{hf_clip_dir}", device="cpu")


def test_processor_config_translation() -> None:
    clip = preprocess_from_hf_config(
        {"size": {"shortest_edge": 224}, "crop_size": {"height": 224, "width": 224},
         "resample": 3, "image_mean": [0.1, 0.2, 0.3], "image_std": [0.4, 0.5, 0.6]},
        "clip", 224)
    assert (clip.size, clip.resize_mode, clip.interpolation) == ((224, 224), "shortest", "bicubic")
    assert clip.mean == (0.1, 0.2, 0.3)
    siglip = preprocess_from_hf_config({"size": {"height": 384, "width": 384}, "resample": 2},
                                       "siglip", 384)
    assert (siglip.size, siglip.resize_mode, siglip.interpolation) == ((384, 384), "squash",
                                                                      "bilinear")
    assert siglip.std == (0.5, 0.5, 0.5)
    with pytest.raises(CheckpointError, match="resample"):
        preprocess_from_hf_config({"resample": 1}, "clip", 224)
    with pytest.raises(CheckpointError, match="not supported"):
        preprocess_from_hf_config({"size": {"shortest_edge": 256},
                                   "crop_size": {"height": 224, "width": 224}}, "clip", 224)
