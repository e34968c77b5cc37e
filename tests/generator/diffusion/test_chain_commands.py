"""The tiny command chain: phantoms → pretrain-text → train base → train superres → sample / fixed lobes / segment."""

import json

import nibabel as nib
import numpy as np
import pytest

from generator.__main__ import main
from generator.data.cases import read_case

PROMPT = "FINDINGS: Moderate right pleural effusion. IMPRESSION: Right pleural effusion."


def sample(models, out, *extra, command="sample"):
    args = [
        command,
        "--base",
        str(models["base"]),
        "--superres",
        str(models["superres"]),
        "--text-encoder",
        str(models["text"]),
        "--out",
        str(out),
        "--steps-base",
        "3",
        "--steps-superres",
        "2",
        "--device",
        "cpu",
    ]
    return main(args + list(extra))


@pytest.fixture(scope="module")
def two_samples(models, tmp_path_factory):
    out = tmp_path_factory.mktemp("samples")
    assert sample(models, out, "--prompt", PROMPT, "--n", "2", "--seed", "5") == 0
    return sorted(out.iterdir())


def test_sample_writes_one_case_folder_per_sample_on_the_training_grid(two_samples, phantoms):
    assert [f.name for f in two_samples] == ["sample-000-seed5", "sample-001-seed6"]
    case, real = read_case(two_samples[0]), read_case(sorted(phantoms.iterdir())[0])
    assert case.ct.dtype == np.int16 and case.ct.shape == real.ct.shape
    np.testing.assert_allclose(case.affine, real.affine)


def test_sample_records_prompt_seed_settings_and_digests_in_meta(two_samples, models):
    meta = json.loads((two_samples[0] / "meta.json").read_text())
    assert meta["prompt"] == PROMPT and meta["seed"] == 5 and meta["sampler"] == "ddim"
    assert (meta["steps_base"], meta["steps_superres"]) == (3, 2)
    index = json.loads((models["base"] / "checkpoint.json").read_text())
    assert meta["checkpoints"]["base"]["digest"] == index["digest"]


def test_different_seeds_give_different_samples(two_samples):
    assert not np.array_equal(read_case(two_samples[0]).ct, read_case(two_samples[1]).ct)


def test_the_same_seed_gives_the_same_sample(two_samples, models, tmp_path):
    assert sample(models, tmp_path, "--prompt", PROMPT, "--seed", "6") == 0
    assert np.array_equal(read_case(tmp_path / "sample-000-seed6").ct, read_case(two_samples[1]).ct)


def test_sampling_with_fixed_lobes_returns_exactly_those_lobes(models, phantoms, tmp_path):
    lobes = sorted(phantoms.iterdir())[1] / "lobes.nii.gz"
    assert sample(models, tmp_path, "--prompt", PROMPT, "--fix", f"lobes={lobes}") == 0
    case = read_case(tmp_path / "sample-000-seed0")
    assert np.array_equal(case.lobes, np.asanyarray(nib.load(lobes).dataobj))


def test_tiled_super_resolution_writes_a_full_case_and_records_the_tile(models, tmp_path):
    assert sample(models, tmp_path, "--prompt", PROMPT, "--tile", "16") == 0
    case = read_case(tmp_path / "sample-000-seed0")
    assert case.ct.shape == (32, 32, 32) and case.meta["tile"] == 16


def test_segment_keeps_the_input_ct_and_generates_the_masks(models, phantoms, tmp_path):
    real = sorted(phantoms.iterdir())[2]
    assert sample(models, tmp_path, "--ct", str(real / "ct.nii.gz"), command="segment") == 0
    (folder,) = tmp_path.iterdir()
    case = read_case(folder)
    assert np.array_equal(case.ct, read_case(real).ct)
    assert case.lobes.shape == case.ct.shape and set(np.unique(case.airway)) <= {0, 1}


def test_a_fixed_volume_on_another_grid_is_refused_with_a_clear_error(models, tmp_path, capsys):
    path = tmp_path / "small.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((16, 16, 16), np.uint8), np.eye(4)), path)
    assert sample(models, tmp_path / "out", "--prompt", PROMPT, "--fix", f"airway={path}") == 2
    assert "fixed airway has shape (16, 16, 16), the model's grid is (32, 32, 32)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_missing_checkpoint_folder_is_reported_without_a_traceback(models, tmp_path, capsys):
    args = [
        "sample",
        "--base",
        str(tmp_path / "nothing"),
        "--superres",
        str(models["superres"]),
        "--text-encoder",
        str(models["text"]),
        "--out",
        str(tmp_path / "out"),
        "--prompt",
        PROMPT,
    ]
    assert main(args) == 2
    assert "no checkpoint.json" in capsys.readouterr().err


def test_sample_runs_dpm_solver_with_dynamic_thresholding_and_records_both(models, tmp_path):
    assert sample(models, tmp_path, "--prompt", PROMPT, "--sampler", "dpmpp-2m", "--threshold", "dynamic") == 0
    (folder,) = tmp_path.iterdir()
    meta = json.loads((folder / "meta.json").read_text())
    assert (meta["sampler"], meta["threshold"], meta["guidance"]) == ("dpmpp-2m", "dynamic", 3.0)


def test_a_command_loads_its_checkpoints_once_however_many_batches_it_samples(models, tmp_path, monkeypatch):
    import generator.sampling as sampling

    calls, load = [], sampling.load_pipeline
    monkeypatch.setattr(sampling, "load_pipeline", lambda *a, **k: calls.append(a) or load(*a, **k))
    assert sample(models, tmp_path, "--prompt", PROMPT, "--n", "9") == 0  # 9 volumes: two batches of generate()
    assert len(list(tmp_path.iterdir())) == 9 and len(calls) == 1


def test_a_base_stage_pipeline_samples_the_low_resolution_alone_as_the_full_chain_begins(models):
    """Base-stage experiments (bench encoder-ablation) load the base model and encoder without a super-resolution
    model; the same seed gives the same low-resolution volume as the full pipeline, and swapped stages are named."""
    import torch

    from generator.sampling import SamplerSettings, SamplingError, load_pipeline, sample_low, seed_noise

    full = load_pipeline(models["base"], models["superres"], models["text"])
    alone = load_pipeline(models["base"], None, models["text"])
    assert alone.superres is None and list(alone.provenance) == ["base", "text_encoder"]
    assert list(full.provenance) == ["base", "superres", "text_encoder"]
    settings = SamplerSettings(steps_base=2, sampler="dpmpp-2m")
    noise = seed_noise(0, full.grid_shape, full.factor)[0]
    with torch.no_grad():
        torch.testing.assert_close(
            sample_low(alone, PROMPT, noise, settings), sample_low(full, PROMPT, noise, settings)
        )
    with pytest.raises(SamplingError, match="--base must be a base checkpoint; got superres"):
        load_pipeline(models["superres"], None, models["text"])
    with pytest.raises(SamplingError, match="--superres must be a superres checkpoint; got base"):
        load_pipeline(models["base"], models["base"], models["text"])


def test_the_super_resolution_chain_starts_where_asked_and_never_above_its_trained_noise_levels(models, monkeypatch):
    """`superres_start` lowers the refiner's start below its trained `start_t` (0.3 for tiny), `superres_rho` spaces
    its steps; meta.json records both, and settings the model cannot run are refused with the flag's name."""
    import torch

    from generator import sampling
    from generator.sampling import SamplerSettings, SamplingError, generate, load_pipeline

    pipeline = load_pipeline(models["base"], models["superres"], models["text"])
    assert pipeline.refiner.start_t == 0.3
    grids = []
    dpm = sampling.SAMPLERS["dpmpp-2m"]
    monkeypatch.setitem(
        sampling.SAMPLERS, "dpmpp-2m", lambda fn, x, grid, *a: grids.append(grid) or dpm(fn, x, grid, *a)
    )
    settings = SamplerSettings(steps_base=2, steps_superres=3, sampler="dpmpp-2m", superres_start=0.1, superres_rho=2.0)
    with torch.no_grad():
        (case,) = generate(pipeline, [PROMPT], [0], settings)
    assert [round(float(t) * 1000) for t in grids[-1]] == [100, 44, 11, 0]
    assert (case.meta["superres_start"], case.meta["superres_rho"]) == (0.1, 2.0)
    for wrong, message in (
        ({"superres_start": 0.5}, r"--superres-start must be in \(0, 0.3\]"),
        ({"superres_start": 0.0}, r"--superres-start must be in"),
        ({"superres_rho": 0.0}, "rho must be positive"),
        ({"superres_start": 0.002, "steps_superres": 5}, "between 1 and 2"),
    ):
        with pytest.raises(SamplingError, match=message):
            generate(pipeline, [PROMPT], [0], SamplerSettings(steps_base=2, sampler="dpmpp-2m", **wrong))
