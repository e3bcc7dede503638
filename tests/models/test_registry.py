"""Third-party backends: ``register_backend(NAME, resolver)`` makes ``NAME`` and
``NAME:ARGUMENT`` specs load through the resolver, and nothing built in can be shadowed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from vlm_reward import load_model
from vlm_reward.errors import ConfigError, ModelNotFoundError
from vlm_reward.models import BACKENDS, Embedder, ModelSpec, parse_spec, register_backend
from vlm_reward.models.open_clip_backend import LoadOptions
from vlm_reward.reward import RewardModel

COLOURS = {"red": 0, "green": 1, "blue": 2}


class ColourEmbedder(Embedder):
    """A model-free backend: a frame embeds as its mean colour, a prompt as the colour it names.

    ``order`` is the channel order of the frames (``rgb``, or ``bgr`` for OpenCV-style input).
    """

    def __init__(self, order: str, opts: LoadOptions, name: str) -> None:
        super().__init__(name=name, device=opts.device, dtype=opts.dtype, embed_dim=3,
                         batch_size=opts.batch_size)
        self.order = order

    def _encode_image_batch(self, frames: torch.Tensor) -> torch.Tensor:
        mean = frames.float().mean(dim=(1, 2))
        return mean.flip(-1) if self.order == "bgr" else mean

    def _encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        out = torch.full((len(texts), 3), 1e-3)
        for row, text in enumerate(texts):
            for word, channel in COLOURS.items():
                if word in text:
                    out[row, channel] = 1.0
        return out


def resolve_colour(spec: ModelSpec, opts: LoadOptions) -> Embedder:
    order = spec.argument or "rgb"
    if order not in ("rgb", "bgr"):
        raise ConfigError(f"model {spec.text!r}: channel order must be rgb or bgr, got {order!r}")
    return ColourEmbedder(order, opts, spec.text)


@pytest.fixture
def colour() -> Iterator[str]:
    register_backend("colour", resolve_colour)
    yield "colour"
    BACKENDS.pop("colour")


def _solid(rgb: tuple[int, int, int], n: int = 2) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (n, 8, 8, 3)).copy()


def test_name_and_name_argument_specs_reach_the_backend(colour: str) -> None:
    assert parse_spec("colour:bgr") == ModelSpec(text="colour:bgr", kind="colour",
                                                 argument="bgr")
    assert parse_spec("colour").argument is None
    rgb = load_model("colour", device="cpu", precision="fp32")
    bgr = load_model("colour:bgr", device="cpu", precision="fp32")
    assert isinstance(rgb, ColourEmbedder) and (rgb.order, bgr.order) == ("rgb", "bgr")
    red = _solid((255, 0, 0))
    torch.testing.assert_close(rgb.encode_images(red), torch.tensor([[1.0, 0, 0]] * 2))
    torch.testing.assert_close(bgr.encode_images(red), torch.tensor([[0, 0, 1.0]] * 2))
    rewards = RewardModel.from_prompts(rgb, "a red square").rewards(
        np.concatenate([_solid((250, 10, 10), 1), _solid((10, 10, 250), 1)]))
    assert rewards[0] > rewards[1]
    assert rgb.fingerprint()["spec"] != bgr.fingerprint()["spec"]  # cache entries stay apart


def test_resolver_errors_reach_the_caller(colour: str) -> None:
    with pytest.raises(ConfigError, match="rgb or bgr"):
        load_model("colour:cmyk", device="cpu")


def test_unknown_prefix_suggests_registered_and_builtin_names(colour: str) -> None:
    with pytest.raises(ModelNotFoundError, match=r"unknown backend 'colur'.*did you mean colour"):
        parse_spec("colur:bgr")
    with pytest.raises(ModelNotFoundError, match="did you mean hf-hub"):
        parse_spec("hf_hub:org/repo")


def test_builtin_forms_still_parse_with_a_backend_registered(colour: str,
                                                             tiny_clip_dir: Path) -> None:
    assert parse_spec("demo").kind == "open_clip_dir"
    assert parse_spec(f"local-dir:{tiny_clip_dir}").kind == "open_clip_dir"
    assert parse_spec(str(tiny_clip_dir)).kind == "open_clip_dir"
    assert parse_spec("hf-hub:org/repo").kind == "open_clip_hub"
    assert parse_spec("ViT-B-32/random").kind == "open_clip_random"


@pytest.mark.parametrize("name", ["demo", "hf", "hf-hub", "local-dir", "ViT-B-32",
                                  "open_clip_tag", "hf_dir", "two words", "a:b", "a/b", ""])
def test_builtin_names_and_malformed_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="register_backend"):
        register_backend(name, resolve_colour)
    assert name not in BACKENDS


def test_resolver_must_be_callable() -> None:
    with pytest.raises(ConfigError, match="callable"):
        register_backend("colour", "resolve_colour")  # type: ignore[arg-type]
