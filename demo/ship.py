"""`python -m demo.ship WORK`: the model `make demo` samples from, exported from a trained folder into demo/model.

A first `make demo` on a 2-core CPU has minutes, not the hour a model that shows anatomy needs, so the repository
ships one: the EMA weights of a `python -m bench text-control WORK` run (the project's own balanced phantoms, its
report encoder, base and super-resolution models), quantised (int8 kernels with per-channel scales, float16 rest;
`generator.checkpoints.quantise`), at most 20 MB in all. demo/model then holds base/,
superres/ and text-encoder/, each loadable by the generator like the folders it trained, and shipped.json: the
command that made them, the config, steps and seeds, every file's sha256, and the anatomy of normal chests sampled
from the exported model at the demo's settings (CTR, lung volume) against the training phantoms' own.
The encoder keeps only what sampling reads: no pre-training heads or pooler, positions cut to the base model's
report length.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tomllib
from pathlib import Path

import numpy as np
from safetensors.torch import load_file, save_file

from contracts.digests import file_sha256

SHIPPED = Path(__file__).with_name("model")
LIMIT_BYTES = 20_000_000
TEXT_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
NOTES = "README.md"  # how the shipped model was made, in words; not part of the record
EVALUATION_SEEDS = 8
NORMAL_FINDING = "No abnormalities"  # the demo's normal prompt (demo/prompts.toml), sampled for the evaluation


class ShipError(Exception):
    """A folder that cannot be shipped, or a shipped model that does not match its record."""


def export(work: Path, out: Path, limit: int = LIMIT_BYTES) -> dict:
    """Write sampling-only copies of WORK's base, super-resolution and text-encoder folders into `out`; return the
    record of what was written (config, steps, sizes and digests). ShipError, with nothing left in `out`, if they
    exceed `limit` bytes."""
    from generator.checkpoints import load_info

    sources = {"base": work / "base", "superres": work / "superres", "text-encoder": work / "text"}
    for name, folder in sources.items():
        if not folder.is_dir():
            raise ShipError(f"{folder}: missing; is {work} the folder of a `python -m bench text-control` run?")
    base_info, superres_info = load_info(sources["base"]), load_info(sources["superres"])
    if base_info["stage"] != "base" or superres_info["stage"] != "superres":
        raise ShipError(f"{work}: base/ and superres/ must hold a base and a super-resolution checkpoint")
    staging = out.with_name(f".{out.name}-staging")
    shutil.rmtree(staging, ignore_errors=True)
    text_digest = export_text_encoder(sources["text-encoder"], staging / "text-encoder", base_info["config"])
    for stage in ("base", "superres"):
        export_checkpoint(sources[stage], staging / stage, text_digest if stage == "base" else None)
    files = {
        str(path.relative_to(staging)): {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
        for path in sorted(staging.rglob("*"))
        if path.is_file()
    }
    total = sum(entry["bytes"] for entry in files.values())
    if total > limit:
        shutil.rmtree(staging)
        raise ShipError(
            f"the exported model is {total / 1e6:.2f} MB, over the {limit / 1e6:.2f} MB a shipped model may be"
        )
    if (out / NOTES).is_file():  # the hand-written notes beside the model outlive a new export
        shutil.copy2(out / NOTES, staging / NOTES)
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    steps = {"base": base_info["step"], "superres": superres_info["step"]}
    return {"config": base_info["config"]["name"], "steps": steps, "files": files, "bytes": total}


def export_checkpoint(source: Path, out: Path, text_digest: str | None) -> None:
    """A sampling-only checkpoint folder: the EMA weights quantised (int8 kernels, float16 rest) and
    checkpoint.json naming only them."""
    from generator.checkpoints import load_info, quantise

    index = load_info(source)
    weights = quantise(load_file(source / index["files"]["ema"]))
    out.mkdir(parents=True)
    name = f"ema-{index['step']}.safetensors"
    save_file(weights, str(out / name))
    exported = {
        **index,
        "files": {"ema": name},
        "digest": file_sha256(out / name),
        "exported": {"from": str(source.resolve()), "digest": index["digest"], "weights": "int8 per output channel"},
    }
    if text_digest is not None:
        exported["text_encoder"] = {"path": "text-encoder", "digest": text_digest}
    (out / "checkpoint.json").write_text(json.dumps(exported, indent=2))


def export_text_encoder(source: Path, out: Path, base_config: dict) -> str:
    """The report encoder alone (no pre-training heads, no pooler), in float16, with positions cut to the base
    model's report length; returns the digest of its weights."""
    from transformers import AutoConfig

    length = int(base_config["base"]["text_length"])
    config = AutoConfig.from_pretrained(source, local_files_only=True)
    if config.max_position_embeddings < length:
        raise ShipError(f"{source}: {config.max_position_embeddings} positions, fewer than the base model's {length}")
    weights = {}
    for key, value in load_file(source / "model.safetensors").items():
        if key.startswith(("cls.", "bert.pooler.", "pooler.")):
            continue
        key = key.removeprefix("bert.")
        if key == "embeddings.position_embeddings.weight":
            value = value[:length]
        weights[key] = value.half().contiguous() if value.is_floating_point() else value
    weights.pop("embeddings.position_ids", None)
    config.max_position_embeddings = length
    config.architectures = ["BertModel"]
    out.mkdir(parents=True)
    config.save_pretrained(out)
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    for name in TEXT_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
    return file_sha256(out / "model.safetensors")


def evaluate(model: Path, work: Path, seeds: int = EVALUATION_SEEDS, steps: tuple[int, int] | None = None) -> dict:
    """CTR and lung volume (rule-based, from the CT) of `seeds` normal chests sampled at the demo's settings (or
    `steps` of the base and super-resolution samplers) from the
    exported model and, at the same seeds, from the trained one, against the normal phantoms of the training set
    measured by the same rules; with the mean absolute CT difference (HU) the export made."""
    from demo.model import PROMPTS, SAMPLER, SAMPLER_STEPS
    from generator.data.cases import read_case
    from generator.data.dataset import find_cases
    from generator.sampling import SamplerSettings, generate, load_pipeline

    recognition = tomllib.loads(PROMPTS.read_text())["recognition"]
    prompt = next(r["prompt"] for r in recognition if r["finding"] == NORMAL_FINDING)
    steps_base, steps_superres = steps or SAMPLER_STEPS
    settings = SamplerSettings(steps_base=steps_base, steps_superres=steps_superres, sampler=SAMPLER)
    normal = [c for c in map(read_case, find_cases(work / "phantoms")) if not any(c.meta["findings"].values())]
    if not normal:
        raise ShipError(f"{work / 'phantoms'}: no phantom without findings to compare the generated chests with")
    sampled = {}
    for name, folder, text in (("shipped", model, model / "text-encoder"), ("trained", work, work / "text")):
        pipeline = load_pipeline(folder / "base", folder / "superres", text)
        sampled[name] = generate(pipeline, [prompt] * seeds, list(range(seeds)), settings)
    difference = np.mean(
        [np.abs(a.ct.astype(np.float32) - b.ct).mean() for a, b in zip(sampled["shipped"], sampled["trained"])]
    )
    return {
        "prompt": prompt,
        "sampler": settings.describe(),
        **{name: anatomy(cases) for name, cases in sampled.items()},
        "phantoms": anatomy(normal[:seeds]),
        "shipped_vs_trained_hu": round(float(difference), 2),
    }


def anatomy(cases: list) -> dict:
    """Mean, sd and n of the CTR and the lung volume (mL) of some cases, from one rule-based segmentation each."""
    from generator.metrics.anatomy import STRUCTURES, measure
    from generator.metrics.segmentation import segment
    from generator.prompt_statistics import spread

    ctr, lung = [], []
    for case in cases:
        ct = case.ct.astype(np.float32)
        masks = segment(ct, case.spacing)
        ctr.append(measure(ct, case.spacing, {name: getattr(masks, name) for name in STRUCTURES})["ctr"])
        lung.append(float(masks.lung.sum()) * case.spacing**3 / 1000)
    return {"ctr": spread(ctr), "lung_ml": spread(lung)}


def verify(model: Path = SHIPPED) -> dict:
    """The shipped record, after checking every file it names against its sha256 (ShipError names the first that
    differs or is missing)."""
    record_path = model / "shipped.json"
    try:
        record = json.loads(record_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ShipError(f"{record_path}: unreadable ({error})") from None
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
        raise ShipError(f'{record_path}: no "files" table; run `python -m demo.ship` again')
    for name, entry in record["files"].items():
        path = model / name
        if not path.is_file() or file_sha256(path) != entry["sha256"]:
            raise ShipError(f"{path}: missing or not the file shipped.json records; run `python -m demo.ship` again")
    return record


def main(argv: list[str] | None = None) -> None:
    """Export WORK's models into demo/model (or --out), evaluate them and write shipped.json."""
    parser = argparse.ArgumentParser(prog="python -m demo.ship", description=__doc__)
    parser.add_argument("work", type=Path, help="folder of a `python -m bench text-control` run")
    parser.add_argument(
        "--out", type=Path, default=SHIPPED, help="where to write the shipped model (default: demo/model)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=EVALUATION_SEEDS,
        help=f"normal chests sampled for the evaluation (default {EVALUATION_SEEDS})",
    )
    parser.add_argument(
        "--sampler-steps",
        type=int,
        nargs=2,
        metavar=("BASE", "SUPERRES"),
        help="sampling steps of the evaluation (default: the demo's)",
    )
    args = parser.parse_args(argv)
    work, out = args.work.resolve(), args.out.resolve()
    try:
        written = export(work, out)
        record = {
            "made_by": " ".join(["python -m demo.ship", *(argv if argv is not None else sys.argv[1:])]),
            "trained_by": _trained_by(work),
            "evaluation": evaluate(out, work, args.seeds, args.sampler_steps),
            **written,
        }
    except ShipError as error:
        sys.exit(f"demo.ship: {error}")
    (out / "shipped.json").write_text(json.dumps(record, indent=2) + "\n")
    evaluation = record["evaluation"]
    print(f"wrote {out} ({written['bytes'] / 1e6:.2f} MB)")
    for name in ("shipped", "trained", "phantoms"):
        ctr, lung = evaluation[name]["ctr"], evaluation[name]["lung_ml"]
        print(
            f"{name:>9}: CTR {ctr['mean']:.2f} ± {ctr['sd'] or 0:.2f}, "
            f"lungs {lung['mean']:,.0f} ± {lung['sd'] or 0:,.0f} mL"
        )


def _trained_by(work: Path) -> dict:
    """The training minutes per stage that the text-control run recorded (WORK/trained.json)."""
    trained = work / "trained.json"
    return json.loads(trained.read_text()) if trained.is_file() else {}


if __name__ == "__main__":
    main()
