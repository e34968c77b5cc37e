"""`make demo`: phantoms → a small MedSyn model trained on them → a blinded study → audit → the platform on :8000.

The demo is honest about what it shows: no patient data anywhere. The 'real' scans are procedural phantoms made by
`python -m generator phantoms`; the generated scans come from the model shipped in demo/model (trained on the
project's own phantoms by a documented command, demo/ship.py), or with --train from a model trained on this machine
for a few minutes (cached: a second run starts serving at once); two degraded renderings of the phantoms stand in for
baseline generators, so each ranking set compares four sources as in the paper's reader study.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from pathlib import Path

from demo.manifest import write_manifest
from demo.model import ModelPlan, study_set, train_model, trained_steps
from demo.ship import SHIPPED, ShipError, verify

ROOT = Path(__file__).resolve().parent.parent
SIZE = 128
N_PHANTOMS = 24
SEED = 2024
TRAIN_MINUTES = 10.0
DEMO_WORK = ROOT / "var" / "demo"


def step(message: str) -> None:
    """Print a visible progress line."""
    print(f"\n==> {message}", flush=True)


def run(*command: str, program: str = sys.executable) -> None:
    """Run a command in the repository, stopping the demo with its message if it fails."""
    result = subprocess.run([program, *command], cwd=ROOT)
    if result.returncode:
        sys.exit(f"demo: `{' '.join(command)}` failed with exit status {result.returncode}")


def platform_environment(work: Path) -> None:
    """Production settings on plain HTTP for loopback: a secret key kept in the demo folder, SQLite beside it."""
    key_file = work / "secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SECRET_KEY", key_file.read_text().strip())
    os.environ.setdefault("DJANGO_HTTPS", "false")
    os.environ.setdefault("PLATFORM_DATA_DIR", str(work / "platform"))


def manage(command: list[str], work: Path) -> int:
    """Run a management command against the demo's database: its secret key, data folder and SQLite file."""
    if not (work / "secret-key").exists():
        sys.exit(f"demo: no demo database in {work}: run `make demo` (or `python -m demo --no-serve`) first")
    platform_environment(work)
    os.environ.setdefault("PLATFORM_BASE_URL", "http://127.0.0.1:8000")
    return subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT).returncode


def choose_model(args: argparse.Namespace, work: Path) -> tuple[Path, str]:
    """The shipped model (checked against its record) unless --train or none is shipped, else one trained here;
    with the sentence the study's description gives of it."""
    if not args.train and (SHIPPED / "shipped.json").exists():
        try:
            record = verify(SHIPPED)
        except ShipError as error:
            sys.exit(f"demo: {error} (or run with --train)")
        step(f"Using the shipped {record['config']} model in {SHIPPED.relative_to(ROOT)} (--train trains one here)")
        found = record["evaluation"]
        return SHIPPED, (
            f"the shipped {record['config']} model, {record['steps']['base']:,} base and "
            f"{record['steps']['superres']:,} super-resolution training steps; its normal chests have a CTR of "
            f"{found['shipped']['ctr']['mean']:.2f} and {found['shipped']['lung_ml']['mean']:,.0f} mL of lung against "
            f"the phantoms' {found['phantoms']['ctr']['mean']:.2f} and {found['phantoms']['lung_ml']['mean']:,.0f} mL"
        )
    if not args.train:
        step("No model is shipped in demo/model: training one on this machine")
    model = train_model(ModelPlan(args.config, args.train_minutes), work / "model", run, step)
    steps = trained_steps(model)
    return model, (
        f"config {args.config}, {steps['base']} base and {steps['superres']} super-resolution training steps "
        "on this machine's CPU: expect coarse images"
    )


def main(argv: list[str] | None = None) -> None:
    """Build the demo study, import it, and serve it with gunicorn (or stop after the import with --no-serve)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["manage"]:
        work = Path(argv[2]) if argv[1:2] == ["--work"] and len(argv) > 2 else DEMO_WORK
        sys.exit(manage(argv[3:] if work is not DEMO_WORK else argv[1:], work.resolve()))
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description=__doc__,
        epilog="python -m demo manage [--work DIR] COMMAND ... runs any `manage.py` command against the demo's "
        "database (e.g. python -m demo manage invite_reader demo --count 5).",
    )
    parser.add_argument("--work", type=Path, default=DEMO_WORK, help="demo folder (default: var/demo)")
    parser.add_argument("--size", type=int, default=SIZE, help=f"study grid and phantom size (default: {SIZE})")
    parser.add_argument(
        "--train", action="store_true", help="train a model on this machine instead of using the shipped one"
    )
    parser.add_argument("--config", default="small", help="generator config to train (default: small)")
    parser.add_argument(
        "--train-minutes",
        type=float,
        default=TRAIN_MINUTES,
        help=f"training budget of both models together (default: {TRAIN_MINUTES:g})",
    )
    parser.add_argument("--port", type=int, default=8000, help="port the demo serves on (default: 8000)")
    parser.add_argument("--no-serve", action="store_true", help="stop after the import (tests)")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    phantoms, bundle, manifest = work / "phantoms", work / "bundle", work / "study.toml"
    work.mkdir(parents=True, exist_ok=True)
    if not manifest.exists():
        if not (phantoms / f"case-{N_PHANTOMS - 1:04d}" / "meta.json").exists():
            step(f"Making {N_PHANTOMS} procedural phantoms at {args.size}³ (the study's 'real' scans)")
            run(
                "-m",
                "generator",
                "phantoms",
                "--out",
                str(phantoms),
                "--n",
                str(N_PHANTOMS),
                "--size",
                str(args.size),
                "--seed",
                str(SEED),
            )
        model, about = choose_model(args, work)
        generated = study_set(model, work / "study-set", run, step)
        step("Writing the demo manifest and the baseline renderings")
        write_manifest(work, phantoms, generated, args.size, SEED, about)
    if not bundle.exists():
        step("Building the blinded study bundle")
        run("-m", "studies", "build", str(manifest), "--out", str(bundle))
    step("Auditing the bundle (pixel-statistics warnings are expected: the demo's sources differ visibly on purpose)")
    subprocess.run([sys.executable, "-m", "studies", "audit", str(bundle)], cwd=ROOT)
    platform_environment(work)
    os.environ.setdefault("PLATFORM_BASE_URL", f"http://127.0.0.1:{args.port}")
    step("Setting up the database and importing the study")
    run("manage.py", "migrate", "--noinput", "-v", "0")
    run("manage.py", "demo_study", str(bundle))
    if args.no_serve:
        return
    step("Collecting the static files (hashed names, gzip and brotli copies: served with year-long cache headers)")
    run("manage.py", "collectstatic", "--noinput", "-v", "0")
    step(
        f"Serving with gunicorn on http://127.0.0.1:{args.port} (Ctrl-C stops); any management command runs against "
        "this database as `python -m demo manage COMMAND ...`, e.g. `python -m demo manage invite_reader demo`"
    )
    run(
        "--chdir",
        "platform",
        "--bind",
        f"127.0.0.1:{args.port}",
        "--workers",
        "2",
        "--control-socket",
        str(work / "gunicorn.ctl"),
        "webapp.wsgi:application",
        program=str(Path(sys.executable).with_name("gunicorn")),
    )


if __name__ == "__main__":
    main()
