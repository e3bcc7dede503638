"""The demo-model training script: reproducible, and its output loads like any checkpoint."""

import numpy as np

from vlm_reward.demo.model_training import DEMO_MODEL_CFG, TrainArgs, train_demo_model


def test_training_is_reproducible_and_loads_through_the_public_loader(tmp_path):
    from vlm_reward import load_model

    runs = []
    for name in ("a", "b"):
        args = TrainArgs(out=tmp_path / name, seed=7, states_per_scene=24, steps=3, batch_size=16)
        summary = train_demo_model(args)
        assert len(summary["losses"]) == 3 and np.isfinite(summary["losses"]).all()
        runs.append((tmp_path / name / "open_clip_model.safetensors").read_bytes())
    assert runs[0] == runs[1]
    assert not list(tmp_path.glob("*/*.tmp"))  # written via temp file + rename
    emb = load_model(str(tmp_path / "a"), device="cpu", precision="fp32")
    assert not emb.is_random
    frames = np.zeros((2, *DEMO_MODEL_CFG["vision_cfg"]["image_size"], 3), dtype=np.uint8)
    assert emb.encode_images(frames).shape == (2, DEMO_MODEL_CFG["embed_dim"])
