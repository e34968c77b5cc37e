"""The demo's study manifest: phantoms as the 'real' scans, the small model's volumes, and two degraded renderings.

Recognition: phantoms with one finding each and the model's volumes prompted with a finding. Ranking: each set holds
a phantom, one of the model's volumes, and the phantom smoothed and 4× down-sampled (stand-ins for baseline
generators), so readers compare four sources as in the paper's design.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from contracts.volumes import HU_CLIP, HU_WINDOW
from generator.data.anatomy import spacing_for

OPTIONS = {
    "pleural_effusion": "Pleural effusion",
    "cardiomegaly": "Cardiomegaly",
    "consolidation": "Consolidation",
    None: "No abnormalities",
}
REAL, GENERATED = "phantom", "medsyn-small"
BASELINES = ("smoothed", "low-resolution")


def only_finding(meta: dict) -> str | None | bool:
    """The single recognition finding of a phantom (None for a normal one); False when it has several or others."""
    present = [name for name, value in meta["findings"].items() if value]
    if not present:
        return None
    return present[0] if len(present) == 1 and present[0] in OPTIONS else False


def rendering(ct: np.ndarray, kind: str) -> np.ndarray:
    """A baseline stand-in made from a phantom CT, in HU: smoothed, or 4× down-sampled and re-upsampled."""
    ct = ct.astype(np.float32)
    if kind == "smoothed":
        return ndimage.gaussian_filter(ct, 1.2)
    if kind == "low-resolution":
        return ndimage.zoom(ct[::4, ::4, ::4], 4, order=1)
    raise ValueError(f"unknown rendering {kind!r}")


def write_manifest(work: Path, phantoms: Path, generated: dict, size: int, seed: int, about_model: str) -> Path:
    """Choose phantoms, write the baseline renderings under work/scans, and write work/study.toml."""
    scans = work / "scans"
    scans.mkdir(parents=True, exist_ok=True)
    cases = sorted(p for p in phantoms.iterdir() if (p / "meta.json").exists())
    metas = {case.name: json.loads((case / "meta.json").read_text()) for case in cases}
    relative = lambda path: str(Path(path).relative_to(work))  # noqa: E731
    volumes, recognition, used = [], [], set()
    for finding in OPTIONS:
        for name in [name for name, meta in metas.items() if only_finding(meta) == finding][:1]:
            used.add(name)
            recognition.append(name)
            volumes.append(
                {
                    "id": name,
                    "file": relative(phantoms / name / "ct.nii.gz"),
                    "source": REAL,
                    "finding": OPTIONS[finding],
                }
            )
    index_folder = work / "study-set"
    for volume in generated["recognition"]:
        recognition.append(volume["id"])
        volumes.append(
            {
                "id": volume["id"],
                "file": relative(index_folder / volume["file"]),
                "source": GENERATED,
                "finding": volume["finding"],
            }
        )
    spare = [name for name in metas if name not in used]
    rankings = []
    for number, volume in enumerate(generated["ranking"]):
        name = spare[number % len(spare)]
        image = nib.load(phantoms / name / "ct.nii.gz")
        tag = f"{volume['structure'].split()[0]}-{volume['set']}"
        ids = [f"{REAL}-{tag}", volume["id"]]
        volumes += [
            {"id": ids[0], "file": relative(phantoms / name / "ct.nii.gz"), "source": REAL},
            {"id": volume["id"], "file": relative(index_folder / volume["file"]), "source": GENERATED},
        ]
        for kind in BASELINES:
            path = scans / f"{kind}-{tag}.nii.gz"
            data = np.clip(rendering(image.get_fdata(), kind), *HU_CLIP).astype(np.int16)
            nib.save(nib.Nifti1Image(data, image.affine), path)
            volumes.append({"id": f"{kind}-{tag}", "file": relative(path), "source": kind})
            ids.append(f"{kind}-{tag}")
        rankings.append({"structure": volume["structure"], "volumes": ids})
    instructions = (
        "This is a **demonstration** study: no patient data. The scans come from four sources: procedural "
        "chest-CT phantoms made by the project's own generator, a small MedSyn model trained on those "
        f"phantoms ({about_model}), and two degraded renderings of the phantoms. First name the most "
        "prominent finding in each scan; then rank sets of four scans by how well they preserve the named "
        "structure (1 = best preserved); then score how realistic some scans look; last, say of each of a few scans "
        "whether it is one of the phantoms themselves or a synthetic scan, and how sure you are."
    )
    judged = [volume_id for ranking in rankings[:2] for volume_id in ranking["volumes"]]
    lines = [
        "[study]",
        'title = "Demo study: procedural phantoms and a small MedSyn model"',
        'slug = "demo"',
        f"seed = {seed}",
        f"shape = [{size}, {size}, {size}]",
        f"spacing = {spacing_for(size)}",
        # Generated CT never exceeds the models' window (600 HU) while the phantoms' bone does: serving every source
        # on that one range keeps the cut-off (and the pile of voxels at it) from telling the MedSyn scans apart.
        f"clip = [{int(HU_WINDOW[0])}, {int(HU_WINDOW[1])}]",
        f"instructions = {json.dumps(instructions)}",
        "",
    ]
    for volume in volumes:
        lines += ["[[volume]]"] + [f"{key} = {json.dumps(value)}" for key, value in volume.items()] + [""]
    lines += ["[recognition]", f"volumes = {json.dumps(recognition)}", ""]
    for ranking in rankings:
        lines += [
            "[[ranking]]",
            f"structure = {json.dumps(ranking['structure'])}",
            f"volumes = {json.dumps(ranking['volumes'])}",
            "",
        ]
    lines += [
        "[rating]",
        f"volumes = {json.dumps(recognition)}",
        'position = "last"',
        "",
        "[discrimination]",
        f"volumes = {json.dumps(judged)}",
        f"real_sources = {json.dumps([REAL])}",
        'question = "Is this one of the phantoms themselves, or a synthetic scan?"',
        "",
    ]
    manifest = work / "study.toml"
    manifest.write_text("\n".join(lines), encoding="utf-8")
    return manifest
