"""Pre-train a BERT on reports with masked-language modelling and paired-section prediction (paper, IV-A)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm
from transformers import BertConfig, BertForPreTraining, PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from generator.text.configs import TextConfig
from generator.text.corpus import Corpus
from generator.text.errors import TextError
from generator.text.examples import mask_tokens, pair_sections
from generator.text.loading import load_tokenizer, load_weights, model_type, quiet_transformers
from generator.text.sections import Sections
from generator.text.tokenizer import train_tokenizer

MAX_HELD_OUT = 1000  # reports; keeps each evaluation short on a corpus of 200k reports
RECORD = "pretraining.json"  # written next to the weights: corpus, settings and final metrics


@dataclass(frozen=True)
class Evaluation:
    """Held-out metrics: masked-token cross-entropy and paired-section accuracy (chance is 0.5)."""

    mlm_loss: float
    pairing_accuracy: float
    examples: int


@dataclass(frozen=True)
class PretrainResult:
    """What a run did: steps, the last training losses, the final held-out evaluation and the model size."""

    steps: int
    loss: float
    mlm_loss: float
    pairing_loss: float
    held_out: Evaluation
    train_reports: int
    parameters: int
    vocab_size: int


def pretrain(
    corpus: Corpus,
    out: Path,
    config: TextConfig,
    *,
    init: Path | None = None,
    steps: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    log: Callable[[str], None] = tqdm.write,
) -> PretrainResult:
    """Pre-train on `corpus` and save a Hugging Face BERT directory (weights, tokenizer, pretraining.json) at `out`.

    Without `init` a WordPiece tokenizer is trained on the training reports and a BERT of `config`'s size starts
    from random weights; with `init` (a local BERT directory) its tokenizer and weights are continued, the
    architecture being the one saved there. The output is written to a temporary folder and renamed when done.
    """
    _check_out(out)
    steps = config.steps if steps is None else steps
    if steps < 1:
        raise TextError(f"--steps must be at least 1, not {steps}")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    train, held_out = _split(corpus.sections, config.held_out_fraction, rng)
    if init is None:
        tokenizer = train_tokenizer((t for s in train for t in (s.findings, s.impression)), config.vocab_size)
        model = BertForPreTraining(_bert_config(config, len(tokenizer)))
    else:
        model, tokenizer, new = load_pretrainable(init)
        log(
            f"continuing {init} ({sum(p.numel() for p in model.parameters()):,} parameters)"
            + (f"; new pre-training heads: {', '.join(sorted({k.rsplit('.', 1)[0] for k in new}))}" if new else "")
        )
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(config.warmup_fraction * steps), steps)
    train_impressions = [s.impression for s in train]
    held_out_batches = _held_out_batches(held_out, tokenizer, config, seed)
    bar = tqdm(range(1, steps + 1), desc="pretrain-text", unit="step", disable=not progress)
    for step in bar:
        batch = [train[i] for i in rng.choice(len(train), size=min(config.batch_size, len(train)), replace=False)]
        pairs, labels = pair_sections(batch, train_impressions, rng)
        inputs, mlm_labels = _encode(
            pairs, tokenizer, config.max_length, torch.Generator().manual_seed(int(rng.integers(2**62)))
        )
        loss, mlm_loss, pairing_loss = _train_step(model, optimizer, inputs, mlm_labels, torch.tensor(labels), device)
        schedule.step()
        bar.set_postfix(loss=f"{loss.item():.3f}", mlm=f"{mlm_loss.item():.3f}", pair=f"{pairing_loss.item():.3f}")
        if step % config.eval_every == 0 or step == steps:
            evaluation = evaluate(model, held_out_batches, device)
            log(
                f"step {step}: loss {loss.item():.4f} (mlm {mlm_loss.item():.4f}, pairing {pairing_loss.item():.4f})"
                f"; held-out mlm {evaluation.mlm_loss:.4f}, pairing accuracy {evaluation.pairing_accuracy:.3f} "
                f"on {evaluation.examples} reports (chance 0.5)"
            )
    result = PretrainResult(
        steps,
        loss.item(),
        mlm_loss.item(),
        pairing_loss.item(),
        evaluation,
        len(train),
        sum(p.numel() for p in model.parameters()),
        len(tokenizer),
    )
    _save(
        model,
        tokenizer,
        out,
        {
            "config": asdict(config),
            "init": str(init) if init else None,
            "seed": seed,
            "reports": corpus.names,
            "skipped": corpus.skipped,
            "result": asdict(result),
        },
    )
    return result


def _train_step(
    model: BertForPreTraining,
    optimizer: torch.optim.Optimizer,
    inputs: dict,
    mlm_labels: torch.Tensor,
    labels: torch.Tensor,
    device: str,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One AdamW step on MLM + pairing cross-entropy (equal weights, as BERT), gradients clipped at norm 1."""
    model.train()
    mlm_loss, pairing_loss, _ = _losses(model, inputs, mlm_labels, labels, device)
    loss = mlm_loss + pairing_loss
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss.detach(), mlm_loss.detach(), pairing_loss.detach()


def load_pretrainable(path: Path) -> tuple[BertForPreTraining, PreTrainedTokenizerBase, list[str]]:
    """A local BERT directory with both pre-training heads, its tokenizer, and the head weights that start random."""
    kind = model_type(path)
    if kind != "bert":
        raise TextError(f'{path}: a {kind!r} model; --init needs a BERT (config.json model_type "bert")')
    tokenizer = load_tokenizer(path)
    model, new = load_weights(BertForPreTraining, path, new_prefixes=("cls.",))
    return model, tokenizer, new


@torch.no_grad()
def evaluate(
    model: BertForPreTraining, batches: list[tuple[dict, torch.Tensor, torch.Tensor]], device: str
) -> Evaluation:
    """Masked-token loss (mean over masked tokens) and pairing accuracy over fixed held-out batches."""
    model.eval()
    mlm_sum, masked, correct, total = 0.0, 0, 0, 0
    for inputs, mlm_labels, labels in batches:
        mlm_loss, _, pairing_logits = _losses(model, inputs, mlm_labels, labels, device)
        n_masked = int((mlm_labels != -100).sum())
        mlm_sum, masked = mlm_sum + mlm_loss.item() * n_masked, masked + n_masked
        correct += int((pairing_logits.argmax(-1).cpu() == labels).sum())
        total += len(labels)
    return Evaluation(mlm_sum / max(masked, 1), correct / total, total)


def _losses(
    model: BertForPreTraining, inputs: dict, mlm_labels: torch.Tensor, labels: torch.Tensor, device: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(MLM cross-entropy over masked tokens, pairing cross-entropy, pairing logits (B, 2))."""
    output = model(**{k: v.to(device) for k, v in inputs.items()})
    logits = output.prediction_logits  # (B, L, V)
    mlm_loss = F.cross_entropy(logits.flatten(0, 1), mlm_labels.to(device).flatten(), ignore_index=-100)
    pairing_logits = output.seq_relationship_logits  # (B, 2)
    return mlm_loss, F.cross_entropy(pairing_logits, labels.to(device)), pairing_logits


def _encode(
    pairs: list[tuple[str, str]], tokenizer: PreTrainedTokenizerBase, max_length: int, generator: torch.Generator
) -> tuple[dict, torch.Tensor]:
    """Tokenise [CLS] Findings [SEP] Impression [SEP] (longest-first truncation) and mask 15 % of the tokens."""
    findings, impressions = zip(*pairs)
    encoded = tokenizer(
        list(findings),
        list(impressions),
        truncation="longest_first",
        max_length=max_length,
        padding="longest",
        return_tensors="pt",
        return_special_tokens_mask=True,
    )
    special = encoded.pop("special_tokens_mask").bool() | ~encoded["attention_mask"].bool()
    encoded["input_ids"], mlm_labels = mask_tokens(
        encoded["input_ids"], special, tokenizer.mask_token_id, len(tokenizer), generator
    )
    return dict(encoded), mlm_labels


def _held_out_batches(
    sections: list[Sections], tokenizer: PreTrainedTokenizerBase, config: TextConfig, seed: int
) -> list[tuple[dict, torch.Tensor, torch.Tensor]]:
    """The held-out reports paired, swapped and masked once (seeded), so every evaluation sees the same examples."""
    rng = np.random.default_rng([seed, 1])
    pairs, labels = pair_sections(sections, [s.impression for s in sections], rng)
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for start in range(0, len(pairs), config.batch_size):
        inputs, mlm_labels = _encode(pairs[start : start + config.batch_size], tokenizer, config.max_length, generator)
        batches.append((inputs, mlm_labels, torch.tensor(labels[start : start + config.batch_size])))
    return batches


def _split(
    sections: list[Sections], fraction: float, rng: np.random.Generator
) -> tuple[list[Sections], list[Sections]]:
    """Random (train, held-out) reports; held-out is `fraction` of them, at least 2 and at most MAX_HELD_OUT."""
    n_held = min(MAX_HELD_OUT, max(2, round(fraction * len(sections))))
    order = rng.permutation(len(sections))
    held_out = [sections[i] for i in order[:n_held]]
    if len({s.impression for s in held_out}) < 2:
        raise TextError("the held-out reports all share one Impression; add reports with varied Impressions")
    return [sections[i] for i in order[n_held:]], held_out


def _bert_config(config: TextConfig, vocab_size: int) -> BertConfig:
    """A BERT of the named size for a trained vocabulary; 512 positions like BERT, whatever `max_length`."""
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=config.hidden,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        intermediate_size=config.intermediate,
        hidden_dropout_prob=config.dropout,
        attention_probs_dropout_prob=config.dropout,
        max_position_embeddings=512,
        pad_token_id=0,
    )


def _check_out(out: Path) -> None:
    """Refuse to overwrite: `out` must not exist, or be an empty folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TextError(f"{out}: already exists and is not empty; choose a new --out or remove it")


def _save(model: BertForPreTraining, tokenizer: PreTrainedTokenizerBase, out: Path, record: dict) -> None:
    """Write weights, tokenizer and record to a temporary sibling folder, then rename it to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with quiet_transformers():
            model.save_pretrained(partial)
            tokenizer.save_pretrained(partial)
        (partial / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()
        partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
