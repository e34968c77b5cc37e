"""`make demo`: procedural phantoms → blinded study bundle → audit → imported into the platform → served on :8000.

The demo is honest about what it shows: every scan is a procedural phantom made by `python -m generator phantoms`
(no patient data, no generated images). The ranking task compares four renderings of the same phantom family —
as made ("phantom"), smoothed, down-sampled 4× and re-upsampled, and with extra noise — so a reader sees real
differences in fine anatomy, the way a study would compare real scans with generators.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parent.parent
SIZE = 128
N_PHANTOMS = 24
SEED = 2024
OPTIONS = {"pleural_effusion": "Pleural effusion", "cardiomegaly": "Cardiomegaly",
           "consolidation": "Consolidation", None: "No abnormalities"}
STRUCTURES = ("lobes and fissures", "airway", "vessels")
RENDERINGS = ("phantom", "smoothed", "low-resolution", "noisy")


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


def only_finding(meta: dict) -> str | None | bool:
    """The single recognition finding of a phantom (None for a normal one); False when it has several or others."""
    present = [name for name, value in meta["findings"].items() if value]
    if not present:
        return None
    return present[0] if len(present) == 1 and present[0] in OPTIONS else False


def rendering(ct: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """One of the demo's four renderings of a phantom CT, in HU."""
    ct = ct.astype(np.float32)
    if kind == "smoothed":
        return ndimage.gaussian_filter(ct, 1.2)
    if kind == "low-resolution":
        return ndimage.zoom(ct[::4, ::4, ::4], 4, order=1)
    if kind == "noisy":
        return ct + rng.normal(0, 60, ct.shape).astype(np.float32)
    return ct


def write_manifest(phantoms: Path, scans: Path, size: int) -> Path:
    """Choose recognition phantoms by their findings, write the ranking renderings, and write study.toml."""
    rng = np.random.default_rng(SEED)
    cases = sorted(p for p in phantoms.iterdir() if (p / "meta.json").exists())
    metas = {case.name: json.loads((case / "meta.json").read_text()) for case in cases}
    volumes, recognition, used = [], [], set()
    for finding in OPTIONS:
        matches = [name for name, meta in metas.items() if only_finding(meta) == finding and name not in used]
        for name in matches[: 2 if finding == "pleural_effusion" else 1]:
            used.add(name)
            recognition.append(name)
            volumes.append({"id": name, "file": f"{phantoms.name}/{name}/ct.nii.gz", "source": "phantom",
                            "finding": OPTIONS[finding]})
    spare = [name for name in metas if name not in used]
    rankings = []
    for index, structure in enumerate(STRUCTURES):
        for set_number in range(2):
            name = spare[(2 * index + set_number) % len(spare)]
            image = nib.load(phantoms / name / "ct.nii.gz")
            ids = []
            for kind in RENDERINGS:
                volume_id = f"{kind}-{structure.split()[0]}-{set_number + 1}"
                path = scans / f"{volume_id}.nii.gz"
                data = np.clip(rendering(image.get_fdata(), kind, rng), -1024, 3071).astype(np.int16)
                nib.save(nib.Nifti1Image(data, image.affine), path)
                volumes.append({"id": volume_id, "file": f"{scans.name}/{path.name}", "source": kind})
                ids.append(volume_id)
            rankings.append({"structure": structure, "volumes": ids})
    lines = ['[study]', 'title = "Demo study: procedural chest-CT phantoms"', 'slug = "demo"', f"seed = {SEED}",
             f"shape = [{size}, {size}, {size}]", f"spacing = {336 / size}",
             'instructions = """This is a **demonstration** study. Every scan is a procedural phantom made by '
             'the project\'s own generator of synthetic chest CTs: no patient data. First name the most prominent '
             'finding in each scan; then rank sets of four scans by how well they preserve the named structure '
             '(1 = best preserved)."""', ""]
    for volume in volumes:
        lines += ["[[volume]]"] + [f"{key} = {json.dumps(value)}" for key, value in volume.items()] + [""]
    lines += ["[recognition]", f"volumes = {json.dumps(recognition)}", ""]
    for ranking in rankings:
        lines += ["[[ranking]]", f"structure = {json.dumps(ranking['structure'])}",
                  f"volumes = {json.dumps(ranking['volumes'])}", ""]
    manifest = phantoms.parent / "study.toml"
    manifest.write_text("\n".join(lines))
    return manifest


def main(argv: list[str] | None = None) -> None:
    """Build the demo study, import it, and serve it with gunicorn (or stop after the import with --no-serve)."""
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "demo", help="demo folder (default: var/demo)")
    parser.add_argument("--size", type=int, default=SIZE, help=f"phantom grid (default: {SIZE})")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-serve", action="store_true", help="stop after the import (tests)")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    phantoms, scans, bundle, manifest = work / "phantoms", work / "scans", work / "bundle", work / "study.toml"
    work.mkdir(parents=True, exist_ok=True)
    if not manifest.exists():
        step(f"Making {N_PHANTOMS} procedural phantoms at {args.size}³")
        run("-m", "generator", "phantoms", "--out", str(phantoms), "--n", str(N_PHANTOMS), "--size", str(args.size),
            "--seed", str(SEED))
        scans.mkdir(parents=True, exist_ok=True)
        step("Writing the demo manifest and the ranking renderings")
        write_manifest(phantoms, scans, args.size)
    if not bundle.exists():
        step("Building the blinded study bundle")
        run("-m", "studies", "build", str(manifest), "--out", str(bundle))
    step("Auditing the bundle (warnings about pixel statistics are expected: the renderings differ on purpose)")
    subprocess.run([sys.executable, "-m", "studies", "audit", str(bundle)], cwd=ROOT)
    platform_environment(work)
    os.environ.setdefault("PLATFORM_BASE_URL", f"http://127.0.0.1:{args.port}")
    step("Setting up the database and importing the study")
    run("manage.py", "migrate", "--noinput", "-v", "0")
    run("manage.py", "demo_study", str(bundle))
    if args.no_serve:
        return
    step(f"Serving with gunicorn on http://127.0.0.1:{args.port} (Ctrl-C stops)")
    run("--chdir", "platform", "--bind", f"127.0.0.1:{args.port}", "--workers", "2", "webapp.wsgi:application",
        program=str(Path(sys.executable).with_name("gunicorn")))


if __name__ == "__main__":
    main()
