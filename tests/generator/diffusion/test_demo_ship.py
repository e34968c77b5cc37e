"""demo.ship: the demo's shipped model is a quantised copy of a trained folder that samples like it, stays under
its size limit, is refused when a file changed, and cannot be resumed as if it were a training checkpoint."""

import numpy as np
import pytest
import torch

from demo.ship import ShipError, export, main, verify
from generator.checkpoints import CheckpointError, dequantise, load_checkpoint, load_training_state, quantise
from generator.sampling import SamplerSettings, load_pipeline, sample_one


@pytest.fixture(scope="module")
def work(models, phantoms, tmp_path_factory):
    """A folder laid out as `python -m bench text-control` leaves it, holding the tiny trained models."""
    root = tmp_path_factory.mktemp("text-control")
    for name, target in (("base", models["base"]), ("superres", models["superres"]), ("text", models["text"])):
        (root / name).symlink_to(target)
    (root / "phantoms").symlink_to(phantoms)
    return root


@pytest.fixture(scope="module")
def shipped(work, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "model"
    main([str(work), "--out", str(out), "--seeds", "2", "--sampler-steps", "2", "2"])
    return out


def test_a_new_export_keeps_the_notes_beside_the_model(work, tmp_path):
    out = tmp_path / "model"
    export(work, out)
    (out / "README.md").write_text("How this model was made.")
    export(work, out)
    assert (out / "README.md").read_text() == "How this model was made."


def test_quantised_weights_come_back_within_half_a_step_per_channel():
    gen = torch.Generator().manual_seed(0)
    weights = {"conv": torch.randn(8, 4, 3, 3, 3, generator=gen) * torch.arange(1, 9).view(8, 1, 1, 1, 1)}
    weights |= {"bias": torch.randn(8, generator=gen), "steps": torch.arange(3)}
    stored = quantise(weights)
    assert stored["conv"].dtype == torch.int8 and stored["bias"].dtype == torch.float16
    back = dequantise(stored)
    assert set(back) == set(weights) and torch.equal(back["steps"], weights["steps"])
    step = weights["conv"].abs().amax(dim=(1, 2, 3, 4)) / 127
    error = (back["conv"] - weights["conv"]).abs().amax(dim=(1, 2, 3, 4))
    assert torch.all(error <= 0.5001 * step)
    assert torch.allclose(back["bias"], weights["bias"], atol=1e-3)


def test_shipped_model_loads_and_samples_like_the_trained_one(work, shipped):
    record = verify(shipped)
    assert record["bytes"] == sum(entry["bytes"] for entry in record["files"].values())
    assert record["steps"] == {"base": 2, "superres": 2}
    trained_bytes = sum(p.stat().st_size for name in ("base", "superres") for p in (work / name).glob("ema-*"))
    assert sum(record["files"][name]["bytes"] for name in record["files"] if name.split("/")[0] != "text-encoder") < (
        0.35 * trained_bytes
    )
    settings = SamplerSettings(steps_base=2, steps_superres=2)
    samples = [
        sample_one(load_pipeline(folder / "base", folder / "superres", text), "Heart size is normal.", 5, settings)
        for folder, text in ((work, work / "text"), (shipped, shipped / "text-encoder"))
    ]
    difference = np.abs(samples[0] - samples[1])  # model units: 0.01 is 16 HU of the 1,624 HU window
    assert difference.mean() < 0.01 and difference.max() < 0.1
    evaluation = record["evaluation"]
    assert evaluation["shipped"]["ctr"]["n"] == evaluation["trained"]["ctr"]["n"] == 2
    assert evaluation["phantoms"]["ctr"]["n"] >= 1
    assert 0 <= evaluation["shipped_vs_trained_hu"] < 41
    assert all(0 <= evaluation[name]["ctr"]["mean"] <= 1 for name in ("shipped", "trained", "phantoms"))
    assert evaluation["phantoms"]["lung_ml"]["mean"] > 0


def test_a_changed_file_is_named_and_an_export_cannot_be_resumed(shipped, tmp_path):
    with pytest.raises(CheckpointError, match="exported checkpoint .* cannot be resumed"):
        load_training_state(shipped / "base")
    copy = tmp_path / "model"
    for path in shipped.rglob("*"):
        if path.is_file():
            (copy / path.relative_to(shipped)).parent.mkdir(parents=True, exist_ok=True)
            (copy / path.relative_to(shipped)).write_bytes(path.read_bytes())
    weights = next((copy / "superres").glob("ema-*.safetensors"))
    data = weights.read_bytes()
    weights.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ShipError, match=r"superres/ema-2\.safetensors: missing or not the file"):
        verify(copy)
    load_checkpoint(shipped / "superres")


def test_an_export_over_the_limit_is_refused_and_leaves_nothing(work, tmp_path):
    out = tmp_path / "model"
    with pytest.raises(ShipError, match=r"over the 0\.10 MB"):
        export(work, out, limit=100_000)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_a_folder_that_is_not_a_text_control_run_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="is .* the folder of a `python -m bench text-control` run"):
        main([str(tmp_path), "--out", str(tmp_path / "model")])
    assert not (tmp_path / "model").exists()


def test_the_demo_samples_from_the_shipped_model_and_refuses_a_changed_one(tmp_path, monkeypatch):
    """The repository's own demo/model: its files match shipped.json, and the study description quotes its
    evaluation; a copy with one byte changed stops the demo with the file's name instead of serving it."""
    import argparse

    import demo.__main__ as demo_main
    from demo.ship import SHIPPED

    record = verify(SHIPPED)
    assert record["bytes"] <= 20_000_000
    args = argparse.Namespace(train=False, config="small", train_minutes=10.0)
    model, about = demo_main.choose_model(args, tmp_path)
    assert model == SHIPPED and f"{record['evaluation']['phantoms']['ctr']['mean']:.2f}" in about
    copy = tmp_path / "model"
    for name in record["files"]:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((SHIPPED / name).read_bytes())
    (copy / "shipped.json").write_text((SHIPPED / "shipped.json").read_text())
    text = copy / "text-encoder" / "model.safetensors"
    data = text.read_bytes()
    text.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    monkeypatch.setattr(demo_main, "SHIPPED", copy)
    with pytest.raises(SystemExit, match=r"text-encoder/model\.safetensors: missing or not the file .* --train"):
        demo_main.choose_model(args, tmp_path)
