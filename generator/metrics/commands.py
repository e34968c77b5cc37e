"""Evaluation sub-commands: `evaluate` (anatomy measures, FID/MMD, plots) and `train-features`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from generator.data.cases import CaseError
from generator.metrics.anatomy import MeasureError
from generator.metrics.distances import DistanceError
from generator.metrics.features import FeatureError

USER_ERRORS = (MeasureError, FeatureError, DistanceError, CaseError)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's sub-commands (each sets `run`, which returns the exit status)."""
    p = sub.add_parser(
        "evaluate",
        help="anatomy measures, FID and MMD of generated against real volumes",
        description="Measure effusion volume, cardiothoracic ratio, %LAA-950 and airway volume "
        "of every volume; compare the two sets' 3D features by FID and MMD.",
    )
    p.add_argument("--real", type=Path, required=True, help="folder of real case folders or NIfTI CTs")
    p.add_argument("--generated", type=Path, required=True, help="folder of generated case folders or NIfTI CTs")
    p.add_argument("--out", type=Path, required=True, help="folder for metrics.json, cases.csv and plots")
    features = p.add_mutually_exclusive_group()
    features.add_argument("--features", type=Path, help="feature extractor folder written by train-features")
    features.add_argument("--medicalnet", type=Path, help="local MedicalNet/Med3D ResNet .pth file")
    features.add_argument(
        "--random-features",
        type=int,
        metavar="SEED",
        help="an untrained fixed-seed CNN (a reproducible baseline, not a trained metric)",
    )
    p.add_argument("--medicalnet-depth", type=int, default=10, help="MedicalNet ResNet depth: 10, 18, 34 or 50")
    p.add_argument("--masks-real", type=Path, help="folder of per-case mask folders (e.g. TotalSegmentator output)")
    p.add_argument("--masks-generated", type=Path, help="the same for the generated set")
    p.add_argument("--workers", type=int, default=2, help="processes measuring volumes (default: 2)")
    p.set_defaults(run=run_evaluate)

    t = sub.add_parser("train-features", help="train the 3D feature CNN for FID/MMD on phantom findings")
    t.add_argument("--data", type=Path, required=True, help="folder of phantom case folders")
    t.add_argument("--out", type=Path, required=True, help="folder for config.json and model.safetensors")
    t.add_argument("--epochs", type=int, default=20, help="passes over the training cases")
    t.add_argument("--batch-size", type=int, default=4, help="volumes per optimisation step")
    t.add_argument("--seed", type=int, default=0, help="seed of initialisation and data order")
    t.set_defaults(run=run_train_features)


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate and print the summary; exit 2 on unusable input."""
    from generator.metrics.evaluate import evaluate

    if args.workers < 1:
        return _fail("--workers must be at least 1")
    spec = (
        ("project", str(args.features))
        if args.features
        else ("medicalnet", str(args.medicalnet), args.medicalnet_depth)
        if args.medicalnet
        else ("random", args.random_features)
        if args.random_features is not None
        else None
    )
    try:
        metrics = evaluate(
            args.real,
            args.generated,
            args.out,
            extractor_spec=spec,
            masks={"real": args.masks_real, "generated": args.masks_generated},
            workers=args.workers,
        )
    except USER_ERRORS as exc:
        return _fail(str(exc))
    print(json.dumps({k: metrics[k] for k in ("fid", "mmd")} | {"sets": metrics["sets"]}, indent=1))
    print(f"wrote metrics.json, cases.csv and plots to {args.out}")
    return 0


def run_train_features(args: argparse.Namespace) -> int:
    """Train the feature CNN and print where it went."""
    from generator.metrics.training import train_features

    if args.epochs < 1 or args.batch_size < 1:
        return _fail("--epochs and --batch-size must be at least 1")
    try:
        summary = train_features(args.data, args.out, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
    except USER_ERRORS as exc:
        return _fail(str(exc))
    print(
        f"trained on {summary['cases']} cases, loss {summary['final_loss']}, "
        f"accuracy {summary['train_accuracy']}; saved to {args.out} (sha256 {summary['digest'][:12]})"
    )
    return 0


def _fail(message: str) -> int:
    """Print a user error and return the usage exit status."""
    print(f"error: {message}", file=sys.stderr)
    return 2
