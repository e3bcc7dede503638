"""Spec parsing: strict, with close matches and valid choices in every error."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlm_reward.errors import ModelNotFoundError
from vlm_reward.models.specs import close_matches, parse_spec


def test_arch_and_tag() -> None:
    spec = parse_spec("ViT-B-32/laion2b_s34b_b79k")
    assert (spec.kind, spec.arch, spec.tag) == ("open_clip_tag", "ViT-B-32", "laion2b_s34b_b79k")


def test_random_spec() -> None:
    spec = parse_spec("ViT-B-32/random")
    assert (spec.kind, spec.arch) == ("open_clip_random", "ViT-B-32")


def test_unknown_arch_lists_close_matches() -> None:
    with pytest.raises(ModelNotFoundError, match=r"unknown open_clip architecture 'ViT-B-23'.*"
                       r"did you mean .*ViT-B-32"):
        parse_spec("ViT-B-23/openai")


def test_case_typo_suggests_real_name() -> None:
    with pytest.raises(ModelNotFoundError, match="did you mean ViT-B-32"):
        parse_spec("vit-b-32/openai")


def test_unknown_tag_lists_valid_tags() -> None:
    with pytest.raises(ModelNotFoundError) as info:
        parse_spec("ViT-B-32/laion2b")
    msg = str(info.value)
    assert "unknown pretrained tag 'laion2b'" in msg
    assert "laion2b_s34b_b79k" in msg and "openai" in msg


def test_missing_tag_lists_tags_and_random() -> None:
    with pytest.raises(ModelNotFoundError, match=r"ViT-B-32/TAG.*openai.*ViT-B-32/random"):
        parse_spec("ViT-B-32")


def test_file_without_arch(tmp_path: Path) -> None:
    ckpt = tmp_path / "model.safetensors"
    ckpt.write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match=r"needs its architecture.*ViT-B-32:"):
        parse_spec(str(ckpt))


def test_arch_with_file(tmp_path: Path) -> None:
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"x")
    spec = parse_spec(f"ViT-B-32:{ckpt}")
    assert (spec.kind, spec.arch, spec.path) == ("open_clip_file", "ViT-B-32", ckpt)


def test_arch_with_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        parse_spec(f"ViT-B-32:{tmp_path / 'nope.safetensors'}")


def test_missing_path() -> None:
    with pytest.raises(ModelNotFoundError, match="no such file or folder"):
        parse_spec("./does/not/exist")


def test_folder_detection(tmp_path: Path) -> None:
    (tmp_path / "oc").mkdir()
    (tmp_path / "oc" / "open_clip_config.json").write_text("{}")
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    assert parse_spec(str(tmp_path / "oc")).kind == "open_clip_dir"
    assert parse_spec(f"local-dir:{tmp_path / 'oc'}").kind == "open_clip_dir"
    assert parse_spec(str(tmp_path / "hf")).kind == "hf_dir"
    assert parse_spec(f"hf:{tmp_path / 'hf'}").kind == "hf_dir"
    with pytest.raises(ModelNotFoundError, match=r"neither open_clip_config\.json"):
        parse_spec(str(tmp_path / "empty"))
    with pytest.raises(ModelNotFoundError, match=r"has no config\.json"):
        parse_spec(f"hf:{tmp_path / 'oc'}")


def test_hf_hub_syntax() -> None:
    assert parse_spec("hf-hub:org/repo").repo == "org/repo"
    with pytest.raises(ModelNotFoundError, match="hf-hub:ORG/REPO"):
        parse_spec("hf-hub:justone")


def test_demo_missing_is_clear(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import vlm_reward.models.specs as specs

    monkeypatch.setattr(specs, "BUNDLED_DIR", tmp_path)
    with pytest.raises(ModelNotFoundError, match="bundled demo model is missing"):
        parse_spec("demo")


def test_close_matches_case_insensitive() -> None:
    assert close_matches("rn50", ["RN50", "RN101", "ViT-B-32"])[0] == "RN50"
