"""`python -m bench`: list the benchmarks; `python -m bench NAME [options]` runs one, `python -m bench NAME NAME ...`
several.

Options after a single NAME go to that benchmark (`python -m bench delivery --repeats 3`; `--help` shows its own).
`make bench` runs the platform's two benchmarks (`make bench BENCH=phantoms` picks others).
"""

from __future__ import annotations

import runpy
import sys
import time

BENCHMARKS: dict[str, tuple[str, str]] = {
    "delivery": (
        "bench.volume_delivery",
        "page load to first rendered slice of a 256³ CT in headless Chromium: "
        "naive .nii.gz vs the platform (recognition and ranking pages)",
    ),
    "load": (
        "bench.load",
        "200 readers autosaving against gunicorn on SQLite and PostgreSQL, "
        "then again while a worker is SIGKILLed: latency, errors, nothing acknowledged lost",
    ),
    "evaluate": ("bench.evaluate", "`generator evaluate` on 32 volumes of 256³ against reading them"),
    "text-stages": (
        "bench.text_stages",
        "after bench/prompt_control/run.sh: where text control is lost "
        "(base model, super-resolution or measuring), stage by stage",
    ),
    "text-control": (
        "bench.text_control",
        "phantoms -> report encoder -> base -> super-resolution -> the three prompt experiments, cached and "
        "resumable: WORK/text-control.json (issue 14's schema)",
    ),
    "encoder-ablation": (
        "bench.encoder_ablation",
        "the paper's Table VII: effusion prompts at the base stage, domain-pretrained against generic report encoder",
    ),
    "samplers": (
        "bench.samplers",
        "after bench text-control: DPM-Solver++(2M) and DDIM in fewer steps against DDIM 50 + 20 (time, CT error, "
        "anatomy measures)",
    ),
    "prediction": (
        "bench.prediction",
        "after bench/prompt_control/run.sh: super-resolution fidelity of "
        "x0- against v-prediction after the same training steps",
    ),
    "phantoms": ("bench.phantoms", "time per procedural phantom at 64³, 128³, 256³"),
    "studies-build": ("bench.studies_build", "`studies build` and `studies audit` on a paper-sized study"),
    "analysis-validity": (
        "bench.analysis_validity",
        "type-I error of each ranking test under null scenarios, and power under a stated effect",
    ),
    "precision": ("bench.precision", "fp32 against bf16 autocast on the CPU: a base training step, guided evaluations"),
    "unet-attention": ("bench.unet_attention", "bottom-only attention vs MONAI's UNet: one CPU training step"),
    "gpu-paper": ("bench.gpu_paper", "the paper configuration on one CUDA GPU (needs CUDA)"),
}


def usage() -> str:
    width = max(map(len, BENCHMARKS))
    rows = "\n".join(f"  {name:<{width}}  {text}" for name, (_, text) in BENCHMARKS.items())
    return f"usage: python -m bench NAME [NAME ...] [options of a single NAME]\n\nbenchmarks:\n{rows}"


def run(name: str, options: list[str]) -> None:
    """Run benchmark `name` as its own `__main__`, with `options` as its command line."""
    module = BENCHMARKS[name][0]
    sys.argv = [f"python -m bench {name}", *options]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "list"):
        print(usage())
        return 0
    names = []
    while argv and argv[0] in BENCHMARKS:
        names.append(argv.pop(0))
    if not names or (argv and len(names) > 1):
        unknown = argv[0] if not names else " ".join(argv)
        print(
            f"python -m bench: unknown benchmark or options {unknown!r} (options go with a single NAME)\n\n{usage()}",
            file=sys.stderr,
        )
        return 2
    for name in names:
        if len(names) > 1:
            print(f"\n==> python -m bench {name}", flush=True)
        start = time.perf_counter()
        run(name, argv)
        if len(names) > 1:
            print(f"(bench {name}: {time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
