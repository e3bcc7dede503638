"""Tiny randomly initialised models of real architectures, saved the way users save checkpoints.

Tests load them back through the public loaders, so the loading code path is the real one.
"""

from __future__ import annotations

import json
from pathlib import Path

import open_clip
import torch
from safetensors.torch import save_file

TINY_VIT_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
TINY_PREPROCESS_CFG = {
    "mean": list(open_clip.OPENAI_DATASET_MEAN),
    "std": list(open_clip.OPENAI_DATASET_STD),
    "interpolation": "bicubic",
    "resize_mode": "shortest",
}


def save_tiny_open_clip(folder: Path, seed: int = 0) -> Path:
    """Build a tiny open_clip ViT with random weights and save it as a ``local-dir`` folder."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_VIT_CFG)
    cfg = {"model_cfg": TINY_VIT_CFG, "preprocess_cfg": TINY_PREPROCESS_CFG}
    (folder / "open_clip_config.json").write_text(json.dumps(cfg, indent=2))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    return folder


TINY_ARCH = "vlmr-tiny-ViT"


def register_tiny_arch(folder: Path) -> str:
    """Register the tiny ViT as a named open_clip architecture (as users add custom configs).

    Lets tests use the ``ARCH:FILE`` and ``ARCH/random`` spec forms without building a
    full-size model.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{TINY_ARCH}.json"
    path.write_text(json.dumps(TINY_VIT_CFG))
    open_clip.add_model_config(path)
    return TINY_ARCH


def fill_hf_cache(cache: Path, repo: str, files: dict[str, Path], revision: str = "0" * 40) -> Path:
    """Lay out ``files`` in a Hugging Face hub cache exactly as a finished download leaves them."""
    base = cache / f"models--{repo.replace('/', '--')}"
    snap = base / "snapshots" / revision
    snap.mkdir(parents=True, exist_ok=True)
    (base / "refs").mkdir(exist_ok=True)
    (base / "refs" / "main").write_text(revision)
    for name, src in files.items():
        (snap / name).write_bytes(src.read_bytes())
    return snap


def clip_bpe_tokenizer():  # -> transformers.CLIPTokenizer
    """The real CLIP BPE tokenizer as a transformers tokenizer, built offline from the vocab
    open_clip ships (the same merges as openai/clip-vit-base-patch32)."""
    from open_clip.tokenizer import SimpleTokenizer
    from transformers import CLIPTokenizer

    simple = SimpleTokenizer()
    merges = [pair for pair, _ in sorted(simple.bpe_ranks.items(), key=lambda kv: kv[1])]
    names = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    vocab = {names.get(tok, tok): idx for tok, idx in simple.encoder.items()}
    return CLIPTokenizer(vocab=vocab, merges=merges)


def tiny_word_tokenizer(vocab_words: int = 200):  # -> transformers.PreTrainedTokenizerFast
    """A small word-level tokenizer trained offline (SigLIP checkpoints ship SentencePiece)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [
        "a pole vertically upright on top of a cart", "a car at the peak of the mountain",
        "next to the yellow flag", "a humanoid robot kneeling", "a humanoid robot standing up",
        "with both arms raised", "seated down meditating in the lotus position",
    ]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(vocab_size=vocab_words,
                                        special_tokens=["<pad>", "</s>", "<unk>"])
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>")


#: tiny text and vision towers of the transformers CLIP family (CLIP, X-CLIP)
TINY_HF_TEXT = {"vocab_size": 49408, "hidden_size": 32, "intermediate_size": 64,
                "num_hidden_layers": 2, "num_attention_heads": 2, "max_position_embeddings": 77}
TINY_HF_VISION = {"image_size": 32, "patch_size": 8, "hidden_size": 32, "intermediate_size": 64,
                  "num_hidden_layers": 2, "num_attention_heads": 2}


def save_tiny_hf_clip(folder: Path, seed: int = 0) -> Path:
    """A tiny random transformers CLIPModel + tokenizer + image processor, save_pretrained."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(seed)
    cfg = CLIPConfig(text_config=TINY_HF_TEXT, vision_config=TINY_HF_VISION, projection_dim=16)
    CLIPModel(cfg).eval().save_pretrained(folder)
    clip_bpe_tokenizer().save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32},
                       crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def save_tiny_hf_siglip(folder: Path, seed: int = 0) -> Path:
    """A tiny random transformers SiglipModel + tokenizer + image processor, save_pretrained."""
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    torch.manual_seed(seed)
    tokenizer = tiny_word_tokenizer()
    cfg = SiglipConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32,
                     "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 16,
                     "pad_token_id": tokenizer.pad_token_id,
                     "bos_token_id": tokenizer.eos_token_id,
                     "eos_token_id": tokenizer.eos_token_id},
        vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 32,
                       "intermediate_size": 64, "num_hidden_layers": 2,
                       "num_attention_heads": 2},
    )
    SiglipModel(cfg).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    SiglipImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5] * 3,
                         image_std=[0.5] * 3).save_pretrained(folder)
    return folder


def save_tiny_xclip(folder: Path, seed: int = 0, num_frames: int = 4) -> Path:
    """A tiny random transformers XCLIPModel (video-language) + CLIP tokenizer + its video
    image processor, save_pretrained: the real architecture (cross-frame attention, the
    multi-frame integration transformer), with small sizes."""
    from transformers import VideoMAEImageProcessor, XCLIPConfig, XCLIPModel

    torch.manual_seed(seed)
    cfg = XCLIPConfig(
        text_config=TINY_HF_TEXT,
        vision_config={**TINY_HF_VISION, "num_frames": num_frames, "mit_hidden_size": 16,
                       "mit_intermediate_size": 32, "mit_num_hidden_layers": 1,
                       "mit_num_attention_heads": 2},
        projection_dim=16, prompt_num_attention_heads=2, prompt_layers=1,
    )
    XCLIPModel(cfg).eval().save_pretrained(folder)
    clip_bpe_tokenizer().save_pretrained(folder)
    VideoMAEImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                           resample=2).save_pretrained(folder)
    return folder
