"""RayEmbedder on a local Ray instance (2 CPUs) against the in-process backend.

Ray and the two tiny-model actors start once per module (start-up takes tens of seconds on a
busy 2-core machine). The test that kills workers for good runs last because it uses up the
shared embedder's workers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from vlm_reward import load_model
from vlm_reward.distributed import RayEmbedder, RayWorkerError, init_ray, shutdown_ray
from vlm_reward.errors import ModelNotFoundError
from vlm_reward.models.base import Embedder
from vlm_reward.reward import RewardModel

ray = pytest.importorskip("ray")

BATCH = 8
GOAL = "a pole vertically upright on top of the cart"


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    """A private Ray instance for this module, stopped (with all its processes) afterwards."""
    if ray.is_initialized():  # left over by another module: start from a clean instance
        shutdown_ray()
    init_ray(None, num_cpus=2)
    yield
    shutdown_ray()
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def ray_emb(ray_instance: None, tiny_clip_dir: Path) -> Iterator[RayEmbedder]:
    # Half a CPU each: the two workers leave one CPU of the instance for short-lived actors.
    emb = RayEmbedder.create(
        str(tiny_clip_dir), num_workers=2, num_cpus_per_worker=0.5, device="cpu",
        precision="fp32", batch_size=BATCH,
    )
    yield emb
    emb.close()


@pytest.fixture(scope="module")
def local(tiny_clip_dir: Path) -> Embedder:
    return load_model(str(tiny_clip_dir), device="cpu", precision="fp32", batch_size=BATCH)


def _frames(n: int, seed: int = 0) -> np.ndarray:
    """Distinct random frames, so a lost, duplicated or swapped frame changes the result."""
    return np.random.default_rng(seed).integers(0, 256, (n, 40, 48, 3), dtype=np.uint8)


def _calls(emb: RayEmbedder) -> list[int]:
    return [info["calls"] for info in ray.get([w.info.remote() for w in emb.workers])]


def test_metadata_matches_the_in_process_model(ray_emb: RayEmbedder, local: Embedder) -> None:
    assert isinstance(ray_emb, Embedder)
    assert ray_emb.num_workers == 2
    assert ray_emb.embed_dim == local.embed_dim
    assert ray_emb.dtype == torch.float32
    assert ray_emb.device == torch.device("cpu")
    assert len({info["pid"] for info in ray_emb.worker_infos}) == 2  # two separate processes


def test_embeddings_identical_to_in_process(ray_emb: RayEmbedder, local: Embedder) -> None:
    frames = _frames(37)
    got = ray_emb.encode_images(frames)
    want = local.encode_images(frames)
    assert got.dtype == torch.float32 and got.device.type == "cpu"
    assert got.shape == want.shape == (37, local.embed_dim)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got.norm(dim=-1), torch.ones(37), atol=1e-5, rtol=0)


def test_rewards_identical_to_in_process(ray_emb: RayEmbedder, local: Embedder) -> None:
    frames = _frames(20, seed=1)
    got = RewardModel.from_prompts(ray_emb, GOAL, "a cart", alpha=0.5).rewards(frames)
    want = RewardModel.from_prompts(local, GOAL, "a cart", alpha=0.5).rewards(frames)
    assert got.dtype == np.float32 and got.shape == (20,)
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("n", [1, 3, 7, 9, 17, 33])
def test_order_preserved_for_odd_batch_sizes(
    ray_emb: RayEmbedder, local: Embedder, n: int
) -> None:
    frames = _frames(n, seed=n)
    want = local.encode_images(frames)
    torch.testing.assert_close(ray_emb.encode_images(frames), want, atol=1e-5, rtol=1e-5)
    perm = np.random.default_rng(n).permutation(n)  # shuffled input -> same shuffle out
    torch.testing.assert_close(ray_emb.encode_images(frames[perm]), want[perm], atol=1e-5,
                               rtol=1e-5)


def test_accepts_what_the_interface_accepts(ray_emb: RayEmbedder, local: Embedder) -> None:
    frames = _frames(5, seed=2)
    want = local.encode_images(frames)
    torch.testing.assert_close(ray_emb.encode_images(torch.from_numpy(frames)), want,
                               atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ray_emb.encode_images(frames[2]), want[2:3], atol=1e-5,
                               rtol=1e-5)
    strided = _frames(10, seed=3)[::2]  # non-contiguous input is fine
    torch.testing.assert_close(ray_emb.encode_images(strided), local.encode_images(strided),
                               atol=1e-5, rtol=1e-5)


def test_shares_embedding_cache_entries_with_in_process(
    ray_emb: RayEmbedder, local: Embedder, tmp_path: Path
) -> None:
    from vlm_reward.evaluation.cache import embed_frames

    assert ray_emb.fingerprint() == local.fingerprint()
    frames = _frames(6, seed=7)
    want = embed_frames(local, frames, cache_dir=tmp_path)
    calls = ray_emb.image_calls
    torch.testing.assert_close(embed_frames(ray_emb, frames, cache_dir=tmp_path), want)
    assert ray_emb.image_calls == calls  # served from the in-process run's entry


@pytest.mark.slow
def test_with_block_kills_the_actors_and_leaves_a_joined_ray(tiny_clip_dir: Path) -> None:
    with RayEmbedder.create(str(tiny_clip_dir), num_workers=1, num_cpus_per_worker=0.5,
                            device="cpu", precision="fp32") as emb:
        worker = emb.workers[0]
        assert emb.encode_images(_frames(2)).shape == (2, emb.embed_dim)
    # ray.kill is asynchronous: a call sent right after it may still be served, so poll
    deadline = time.monotonic() + 60
    while True:
        try:
            ray.get(worker.info.remote(), timeout=30)
        except ray.exceptions.RayActorError:
            break  # the actor is gone
        assert time.monotonic() < deadline, "the actor still answers 60 s after close()"
        time.sleep(0.5)
    with pytest.raises(RayWorkerError, match="closed"):
        emb.encode_text(["a cart"])
    assert ray.is_initialized()  # started by the test's fixture, so it is not ours to stop


def test_work_is_split_across_both_workers(ray_emb: RayEmbedder) -> None:
    before, calls_before = _calls(ray_emb), ray_emb.image_calls
    ray_emb.encode_images(_frames(4 * BATCH))  # 4 chunks of BATCH frames
    after = _calls(ray_emb)
    assert ray_emb.image_calls - calls_before == 4
    assert sum(after) - sum(before) == 4
    assert all(a > b for a, b in zip(after, before, strict=True))  # both did some
    small_before = _calls(ray_emb)
    ray_emb.encode_images(_frames(4))  # smaller than a batch: still split over both workers
    assert [a - b for a, b in zip(_calls(ray_emb), small_before, strict=True)] == [1, 1]


def test_text_embedded_once_and_identical(
    ray_emb: RayEmbedder, local: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = ["a cart on a track", "a pole falling over"]
    torch.testing.assert_close(ray_emb.encode_text(prompts), local.encode_text(prompts),
                               atol=1e-5, rtol=1e-5)

    def fail(texts: list[str]) -> torch.Tensor:
        raise AssertionError(f"re-embedded {texts}")

    monkeypatch.setattr(ray_emb, "_encode_text_batch", fail)
    assert ray_emb.encode_text(prompts[::-1]).shape == (2, local.embed_dim)


def test_worker_crash_mid_run_loses_and_duplicates_nothing(
    ray_emb: RayEmbedder, local: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    frames = _frames(8 * BATCH, seed=4)
    want = RewardModel.from_prompts(local, GOAL).rewards(frames)
    rm = RewardModel.from_prompts(ray_emb, GOAL)
    restarts, token = ray_emb.worker_restarts, ray_emb.worker_infos[0]["token"]
    ray.get(ray_emb.workers[0].crash_on_call.remote(2))  # dies inside its 2nd chunk of the run
    with caplog.at_level(logging.WARNING, logger="vlm_reward.distributed"):
        got = rm.rewards(frames)
    assert got.shape == want.shape  # nothing lost, nothing duplicated ...
    np.testing.assert_allclose(got, want, atol=1e-5)  # ... and every frame in its place
    assert ray_emb.worker_restarts == restarts + 1
    assert ray_emb.worker_failures == 0 and ray_emb.num_workers == 2
    assert ray_emb.worker_infos[0]["token"] != token
    assert any("restarted" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_worker_killed_by_ray_is_restarted(ray_emb: RayEmbedder, local: Embedder) -> None:
    frames = _frames(6 * BATCH, seed=5)
    restarts = ray_emb.worker_restarts
    ray.kill(ray_emb.workers[1], no_restart=False)  # as a node agent or OOM killer would
    torch.testing.assert_close(ray_emb.encode_images(frames), local.encode_images(frames),
                               atol=1e-5, rtol=1e-5)
    assert ray_emb.worker_restarts == restarts + 1


@pytest.mark.slow
def test_cartpole_rewards_and_short_training_through_ray(
    ray_emb: RayEmbedder, local: Embedder
) -> None:
    """PPO on CartPole-v1 whose reward is the VLM reward of rendered frames, via Ray."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecEnvWrapper

    class RenderedVLMReward(VecEnvWrapper):
        def __init__(self, venv, rm: RewardModel) -> None:
            super().__init__(venv)
            self.rm, self.frames, self.rewards = rm, [], []

        def reset(self):
            return self.venv.reset()

        def step_wait(self):
            obs, _, dones, infos = self.venv.step_wait()
            frames = np.stack(self.venv.get_images())
            rewards = self.rm.rewards(frames)
            self.frames.append(frames)
            self.rewards.append(rewards)
            return obs, rewards, dones, infos

    venv = make_vec_env("CartPole-v1", n_envs=2, seed=0, env_kwargs={"render_mode": "rgb_array"})
    env = RenderedVLMReward(venv, RewardModel.from_prompts(ray_emb, GOAL))
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=32)
    env.close()
    assert model.num_timesteps >= 32
    frames = np.concatenate(env.frames)
    assert frames.shape[1:] == (400, 600, 3) and len(frames) >= 32
    want = RewardModel.from_prompts(local, GOAL).rewards(frames)
    np.testing.assert_allclose(np.concatenate(env.rewards), want, atol=1e-5)


@pytest.mark.slow
def test_user_errors_inside_workers_come_back_as_themselves(ray_emb: RayEmbedder) -> None:
    with pytest.raises(ModelNotFoundError, match="no-such-arch"):
        RayEmbedder.create("no-such-arch/random", num_workers=1, num_cpus_per_worker=1,
                           device="cpu", precision="fp32", ready_timeout=300)


def test_workers_lost_for_good_are_dropped_then_reported(  # runs last: uses up ray_emb
    ray_emb: RayEmbedder, local: Embedder
) -> None:
    frames = _frames(3 * BATCH, seed=6)
    ray.kill(ray_emb.workers[0], no_restart=True)
    torch.testing.assert_close(ray_emb.encode_images(frames), local.encode_images(frames),
                               atol=1e-5, rtol=1e-5)
    assert ray_emb.num_workers == 1 and ray_emb.worker_failures == 1
    ray.kill(ray_emb.workers[0], no_restart=True)
    with pytest.raises(RayWorkerError, match="all 2 Ray workers died"):
        ray_emb.encode_images(frames)
    ray_emb.close()
    ray_emb.close()  # idempotent
    with pytest.raises(RayWorkerError, match="closed"):
        ray_emb.encode_images(frames)
    assert ray.is_initialized()  # the embedder did not start Ray, so it leaves it running
