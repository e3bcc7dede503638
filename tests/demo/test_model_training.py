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


def test_a_fine_tuning_stage_starts_from_the_given_weights(tmp_path):
    from safetensors.torch import load_file

    small = {"states_per_scene": 24, "batch_size": 16, "seed": 7}
    train_demo_model(TrainArgs(out=tmp_path / "a", steps=3, **small))
    # one step at a negligible learning rate: the weights stay those it started from
    train_demo_model(TrainArgs(out=tmp_path / "b", steps=1, lr=1e-9, init=tmp_path / "a",
                               **small))
    train_demo_model(TrainArgs(out=tmp_path / "c", steps=1, lr=1e-9, **small))
    a, b, c = (load_file(tmp_path / n / "open_clip_model.safetensors") for n in "abc")
    assert all(np.allclose(a[k].numpy(), b[k].numpy(), atol=1e-6) for k in a)
    assert not all(np.allclose(a[k].numpy(), c[k].numpy(), atol=1e-6) for k in a)


def test_a_mirrored_cartpole_frame_is_the_frame_of_the_mirrored_state():
    # what the mirror augmentation relies on: flipping the frame of (x, theta) left-right
    # shows (-x, -theta), so the caption of the mirrored state describes the flipped frame
    import torch

    from vlm_reward.demo.heldout import scene_frames
    from vlm_reward.demo.model_training import _mirror

    states = np.array([[0.7, 0, 0.3, 0], [-1.5, 0, -1.2, 0], [0.0, 0, 2.5, 0]])
    mirrored = states * np.array([-1, 1, -1, 1])
    frames, expected = scene_frames("cartpole", states), scene_frames("cartpole", mirrored)
    batch = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    flipped = _mirror(batch, np.array([True, True, False])).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(flipped[2], frames[2])  # rows not selected are untouched
    for k in (0, 1):
        differs = np.abs(flipped[k] - expected[k]).max(-1) > 60
        assert differs.mean() < 0.03  # only sub-pixel rounding at the edges differs
        assert not np.array_equal(flipped[k], frames[k])
