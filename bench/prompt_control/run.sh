#!/usr/bin/env bash
# Text control on phantoms, end to end: phantoms → pretrain-text → base → super-resolution → prompt-experiment.
# Each training stage runs for a wall-clock budget (seconds; `train --max-minutes`), so the same script fits a
# 2-core CPU or a GPU; run it again with larger budgets to continue training.
# Usage: bench/prompt_control/run.sh WORK [PHANTOMS] [BASE_S] [SUPERRES_S] [N] [WORKERS]
# Environment: PYTHON (default python3), CONFIG (small32: a 32³ base grid) of the diffusion models, TEXT_CONFIG
# (small) and TEXT_STEPS (1500) of the report encoder, STEPS_BASE (50) and STEPS_SUPERRES (20) of the samplers.
# The phantoms are the balanced mix (every prompt's finding common); `python -m bench text-control` does all of this
# and writes text-control.json.
set -euo pipefail
work=${1:?usage: run.sh WORK [PHANTOMS] [BASE_SECONDS] [SUPERRES_SECONDS] [N] [WORKERS]}
phantoms=${2:-400}; base_s=${3:-600}; superres_s=${4:-300}; n=${5:-32}; workers=${6:-2}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work" && work=$(cd "$work" && pwd)
cd "$here/../.."  # the repository root, where `python -m generator` is found
py=${PYTHON:-python3}
g() { "$py" -m generator "$@"; }
[ -e "$work/phantoms/case-$(printf %04d $((phantoms - 1)))/meta.json" ] ||
    g phantoms --out "$work/phantoms" --n "$phantoms" --size 64 --seed 7 --workers "$workers" --mix balanced
[ -e "$work/text/config.json" ] || g pretrain-text --data "$work/phantoms" --out "$work/text" --config "${TEXT_CONFIG:-small}" --steps "${TEXT_STEPS:-1500}"
for stage in base superres; do
    budget=$base_s; extra=(--text-encoder "$work/text" --batch-size 16); [ $stage = superres ] && budget=$superres_s && extra=(--batch-size 8)
    resume=(); [ -e "$work/$stage/checkpoint.json" ] && resume=(--resume)
    g train --stage $stage --config "${CONFIG:-small32}" --data "$work/phantoms" --out "$work/$stage" --steps 1000000 --held-out 4 \
        --max-minutes "$(awk "BEGIN {print $budget / 60}")" --workers "$workers" "${extra[@]}" "${resume[@]}"
    "$py" -c "import json,sys; print(sys.argv[1], 'step', json.load(open(sys.argv[2]))['step'])" $stage "$work/$stage/checkpoint.json"
done
g prompt-experiment --base "$work/base" --superres "$work/superres" --text-encoder "$work/text" \
    --pairs "$here/pairs.toml" --n "$n" --out "$work/prompts" \
    --steps-base "${STEPS_BASE:-50}" --steps-superres "${STEPS_SUPERRES:-20}"
