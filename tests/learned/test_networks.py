from __future__ import annotations

import numpy as np
import pytest
import torch

from vlm_reward.errors import ConfigError, FrameError
from vlm_reward.learned.networks import RewardEnsemble, downsample


def test_downsample_matches_pil_antialiased_resize() -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(3, 40, 60, 3), dtype=np.uint8)
    out = downsample(frames, 8)
    assert out.shape == (3, 8, 8, 3) and out.dtype == np.uint8
    for frame, small in zip(frames, out, strict=True):
        pil = np.asarray(Image.fromarray(frame).resize((8, 8), Image.Resampling.BILINEAR))
        assert np.abs(pil.astype(int) - small.astype(int)).max() <= 1
    grown = downsample(frames[:1, :4, :4], 8)  # growing works too
    assert grown.shape == (1, 8, 8, 3)


def test_downsample_keeps_a_thin_line_visible() -> None:
    frames = np.zeros((1, 400, 600, 3), np.uint8)
    frames[0, :, 301:304] = 255  # a 3-pixel-wide vertical pole
    out = downsample(frames, 32)
    # point sampling would miss it entirely; the filter keeps its mass: 3 * 255 / 18.75 per row
    assert 30 <= int(out[0, 16, :, 0].sum()) <= 50
    assert out[0, :, :14, 0].max() == 0 and out[0, :, 18:, 0].max() == 0  # and stays local


def test_downsample_batches_larger_than_one_chunk_and_same_size_is_a_copy() -> None:
    frames = np.random.default_rng(1).integers(0, 256, (600, 8, 8, 3), dtype=np.uint8)
    out = downsample(frames, 8)
    assert np.array_equal(out, frames) and out is not frames
    small = downsample(frames, 4)
    assert small.shape == (600, 4, 4, 3)
    assert np.array_equal(small[550], downsample(frames[550:551], 4)[0])


def test_downsample_rejects_bad_input() -> None:
    with pytest.raises(FrameError, match="uint8"):
        downsample(np.zeros((2, 8, 8, 3), np.float32), 4)
    with pytest.raises(FrameError, match="channels"):
        downsample(np.zeros((2, 3, 8, 8), np.uint8), 4)
    with pytest.raises(ConfigError, match="size"):
        downsample(np.zeros((2, 8, 8, 3), np.uint8), 0)


@pytest.mark.parametrize("shape", [(32, 32, 3), (8, 8, 3), (84, 84, 3), (5,)])
def test_ensemble_shapes_members_differ_and_seed_is_reproducible(shape: tuple[int, ...]) -> None:
    before = torch.random.get_rng_state()
    net = RewardEnsemble(shape, members=4, hidden=16, seed=3)
    assert torch.equal(torch.random.get_rng_state(), before)  # the global RNG is untouched
    if len(shape) == 3:
        x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (7, *shape), dtype=np.uint8))
    else:
        x = torch.randn(7, *shape)
    out = net(x)
    assert out.shape == (4, 7) and out.dtype == torch.float32
    assert out.std(dim=0).min() > 0  # members are initialised independently
    again = RewardEnsemble(shape, members=4, hidden=16, seed=3)
    assert torch.equal(again(x), out)
    assert not torch.equal(RewardEnsemble(shape, members=4, hidden=16, seed=4)(x), out)


@pytest.mark.parametrize("shape", [(16, 16, 3), (5,)])
def test_forward_each_gives_each_member_its_own_inputs(shape: tuple[int, ...]) -> None:
    net = RewardEnsemble(shape, members=3, hidden=8, seed=0)
    if len(shape) == 3:
        x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 4, *shape),
                                                                dtype=np.uint8))
    else:
        x = torch.randn(3, 4, *shape)
    each = net.forward_each(x)
    assert each.shape == (3, 4)
    for m in range(3):
        assert torch.allclose(each[m], net(x[m])[m], atol=1e-6)
    with pytest.raises(ConfigError, match="forward_each"):
        net.forward_each(x[0])


def test_ensemble_members_are_independent_networks() -> None:
    """Changing member 0's weights changes only member 0's output."""
    net = RewardEnsemble((16, 16, 3), members=3, hidden=8, seed=0)
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8))
    before = net(x).detach()
    with torch.no_grad():
        net.cnns[0][0].weight += 0.5
    after = net(x).detach()
    assert not torch.allclose(after[0], before[0])
    assert torch.equal(after[1:], before[1:])


def test_vector_stats_standardise_inputs() -> None:
    x = torch.randn(200, 3) * torch.tensor([1.0, 100.0, 0.01]) + torch.tensor([5.0, -50.0, 2.0])
    net = RewardEnsemble((3,), members=2, hidden=8, seed=0)
    net.set_input_stats(x)
    assert torch.allclose(net.input_mean, x.mean(0))
    assert torch.allclose(net.input_std, x.std(0))
    z = (x - net.input_mean) / net.input_std
    assert torch.allclose(z.mean(0), torch.zeros(3), atol=1e-4)
    constant = RewardEnsemble((2,), members=1, hidden=4, seed=0)
    constant.set_input_stats(torch.ones(10, 2))
    assert torch.equal(constant.input_std, torch.ones(2))  # no division by zero


def test_ensemble_rejects_bad_shapes() -> None:
    with pytest.raises(ConfigError, match="input_shape"):
        RewardEnsemble((32, 16, 3), members=2, hidden=8)
    with pytest.raises(ConfigError, match="members"):
        RewardEnsemble((4,), members=0, hidden=8)
    net = RewardEnsemble((8, 8, 3), members=2, hidden=8)
    with pytest.raises(FrameError, match="downsample"):
        net(torch.zeros(2, 16, 16, 3, dtype=torch.uint8))
    with pytest.raises(ConfigError, match=r"\(N, 4\)"):
        RewardEnsemble((4,), members=2, hidden=8)(torch.zeros(3, 5))


def test_spec_and_state_dict_rebuild_the_same_network() -> None:
    net = RewardEnsemble((4,), members=3, hidden=8, seed=0)
    net.set_input_stats(torch.randn(50, 4) * 3)
    copy = RewardEnsemble(**net.spec)
    copy.load_state_dict(net.state_dict())
    x = torch.randn(6, 4)
    assert torch.equal(copy(x), net(x))


@pytest.mark.parametrize("shape", [(16, 16, 3), (4,)])
def test_ensemble_learns_a_reward_from_its_inputs(shape: tuple[int, ...]) -> None:
    """Every member fits a target that depends on the input (where a bright square sits in a
    frame, or a nonlinear function of a vector) well enough to rank new inputs."""
    rng = np.random.default_rng(0)
    if len(shape) == 3:
        x = np.zeros((512, *shape), np.uint8)
        cols = rng.integers(0, shape[1] - 3, 512)
        rows = rng.integers(0, shape[0] - 3, 512)
        for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
            x[i, r:r + 3, c:c + 3] = 255
        target = cols.astype(np.float64)
        x_t = torch.from_numpy(x)
    else:
        x = rng.normal(size=(512, *shape)).astype(np.float32)
        target = np.tanh(x[:, 0]) - 0.5 * x[:, 1]
        x_t = torch.from_numpy(x)
    y = torch.from_numpy((target - target.mean()) / target.std()).float()
    torch.manual_seed(0)
    net = RewardEnsemble(shape, members=3, hidden=32, seed=0)
    net.set_input_stats(x_t[:400])
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(300):
        idx = torch.randint(0, 400, (64,))
        loss = ((net(x_t[idx]) - y[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = net(x_t[400:])
    for member in pred:
        assert np.corrcoef(member.numpy(), y[400:].numpy())[0, 1] > 0.9
