from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from tiny_models import save_tiny_open_clip


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random open_clip model saved as a local folder (open_clip_config.json + weights)."""
    return save_tiny_open_clip(tmp_path_factory.mktemp("tiny_clip"))


@pytest.fixture(scope="session")
def tiny_embedder(tiny_clip_dir: Path):
    """The tiny model loaded through the public loader, on CPU in fp32."""
    from vlm_reward import load_model

    return load_model(str(tiny_clip_dir), device="cpu", precision="fp32")


@pytest.fixture
def one_torch_thread():
    """Two shared cores: tiny nets run far faster on one thread than on two contending ones."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
