"""Named report-encoder configurations: BERT size, vocabulary and the pre-training schedule."""

from __future__ import annotations

from dataclasses import dataclass

from generator.text.errors import TextError


@dataclass(frozen=True)
class TextConfig:
    """A BERT architecture (used when training from scratch) and its pre-training hyper-parameters."""

    name: str
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int  # WordPiece vocabulary trained on the reports (an upper bound; small corpora give fewer)
    max_length: int  # tokens per [CLS] Findings [SEP] Impression [SEP] example, truncated longest-first
    batch_size: int
    steps: int
    learning_rate: float
    dropout: float = 0.1  # BERT's hidden and attention dropout
    warmup_fraction: float = 0.1
    held_out_fraction: float = 0.1
    eval_every: int = 100


CONFIGS = {
    # tiny: tests; on 800 phantom reports held-out pairing accuracy passes 0.7 after about 400 steps.
    "tiny": TextConfig(
        "tiny",
        hidden=128,
        layers=2,
        heads=4,
        intermediate=256,
        vocab_size=1000,
        max_length=128,
        batch_size=32,
        steps=400,
        learning_rate=3e-3,
    ),
    # small: the demo, minutes on a CPU.
    "small": TextConfig(
        "small",
        hidden=192,
        layers=4,
        heads=4,
        intermediate=768,
        vocab_size=4000,
        max_length=128,
        batch_size=32,
        steps=800,
        learning_rate=1e-3,
    ),
    # BERT-base (Devlin et al. 2019), the size of the paper's encoder (CXR-BERT is BERT-base).
    "paper": TextConfig(
        "paper",
        hidden=768,
        layers=12,
        heads=12,
        intermediate=3072,
        vocab_size=30522,
        max_length=256,
        batch_size=32,
        steps=20000,
        learning_rate=5e-5,
    ),
}


def text_config(name: str) -> TextConfig:
    """The named configuration, or a TextError listing the names there are."""
    if name not in CONFIGS:
        raise TextError(f"unknown text config {name!r}; choose one of {', '.join(CONFIGS)}")
    return CONFIGS[name]
