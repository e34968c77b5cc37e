"""Training: exact resume, NaN stop, clear errors."""

import csv
import dataclasses

import pytest
import torch

from generator.checkpoints import load_checkpoint, load_training_state
from generator.diffusion.denoiser import Denoiser
from generator.train import TrainingError, TrainOptions, learning_rate, train


def options(data, out, steps, **kwargs):
    return TrainOptions(stage="superres", config="tiny", data=data, out=out, steps=steps, workers=0, **kwargs)


def test_resuming_continues_bit_exactly(phantoms, tmp_path):
    straight = train(options(phantoms, tmp_path / "straight", 4, accumulate=2))
    train(options(phantoms, tmp_path / "resumed", 2, accumulate=2))
    resumed = train(options(phantoms, tmp_path / "resumed", 4, accumulate=2, resume=True))
    for name, value in straight.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], value), name
    a, b = load_training_state(tmp_path / "straight"), load_training_state(tmp_path / "resumed")
    assert b.step == 4
    for name, value in a.ema.items():
        assert torch.equal(b.ema[name], value), name
    assert load_checkpoint(tmp_path / "straight")[3] == load_checkpoint(tmp_path / "resumed")[3]


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(phantoms, tmp_path, monkeypatch):
    train(options(phantoms, tmp_path, 1))
    loss = Denoiser.loss
    monkeypatch.setattr(Denoiser, "loss", lambda self, *a, **k: loss(self, *a, **k) * float("nan"))
    with pytest.raises(TrainingError, match=r"NaN or infinite at step 2.*checkpoint \(step 1\).*intact"):
        train(options(phantoms, tmp_path, 3, resume=True))
    assert load_training_state(tmp_path).step == 1


def test_training_refuses_to_overwrite_a_checkpoint_without_resume(phantoms, tmp_path):
    train(options(phantoms, tmp_path, 1))
    with pytest.raises(TrainingError, match="pass --resume"):
        train(options(phantoms, tmp_path, 2))


def test_training_rejects_data_on_another_grid_than_the_config(phantoms, tmp_path):
    with pytest.raises(TrainingError, match="expects 64\\^3"):
        train(TrainOptions(stage="superres", config="small", data=phantoms, out=tmp_path, steps=1, workers=0))


def test_the_base_stage_needs_a_text_encoder(phantoms, tmp_path):
    with pytest.raises(TrainingError, match="--text-encoder"):
        train(TrainOptions(stage="base", config="tiny", data=phantoms, out=tmp_path, steps=1, workers=0))


def test_a_time_limit_stops_at_a_step_boundary_with_a_checkpoint_that_resumes_exactly(phantoms, tmp_path, capsys):
    straight = train(options(phantoms, tmp_path / "straight", 3))
    train(options(phantoms, tmp_path / "limited", 3, max_minutes=0.0))
    assert load_training_state(tmp_path / "limited").step == 1
    assert "time limit of 0 minutes reached: saved step 1" in capsys.readouterr().err
    resumed = train(options(phantoms, tmp_path / "limited", 3, resume=True))
    for name, value in straight.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], value), name


def test_the_prediction_chosen_for_a_run_is_kept_and_cannot_change_on_resume(phantoms, tmp_path):
    train(options(phantoms, tmp_path, 1, prediction="x0"))
    assert load_training_state(tmp_path).config.superres.prediction == "x0"
    assert load_checkpoint(tmp_path)[1].superres.prediction == "x0"
    with pytest.raises(TrainingError, match="trained to predict x0; --prediction cannot change on --resume"):
        train(options(phantoms, tmp_path, 2, resume=True, prediction="v"))
    train(options(phantoms, tmp_path, 2, resume=True))
    assert load_training_state(tmp_path).config.superres.prediction == "x0"


def test_training_logs_every_step_and_the_held_out_loss_per_noise_level(phantoms, tmp_path):
    train(options(phantoms, tmp_path, 2, held_out=1, eval_every=1))
    with (tmp_path / "log.csv").open() as f:
        log = list(csv.DictReader(f))
    assert [row["step"] for row in log] == ["1", "2"]
    assert all(float(row["grad_norm"]) > 0 and float(row["steps_per_s"]) > 0 for row in log)
    with (tmp_path / "held-out.csv").open() as f:
        held = list(csv.DictReader(f))
    assert [(row["step"], row["t"]) for row in held][:5] == [("1", str(t)) for t in (0.02, 0.05, 0.1, 0.3, 0.9)]
    assert len(held) == 10 and all(float(row["ct_rmse_hu"]) > 0 for row in held)


def test_holding_out_every_case_is_refused(phantoms, tmp_path):
    with pytest.raises(TrainingError, match="--held-out 10"):
        train(options(phantoms, tmp_path, 1, held_out=10))


def test_a_refiner_start_can_be_chosen_for_a_new_run_only(phantoms, tmp_path):
    train(options(phantoms, tmp_path, 1, refine_from=1.0))
    assert load_checkpoint(tmp_path)[1].superres.start_t == 1.0
    with pytest.raises(TrainingError, match="new super-resolution run only"):
        train(options(phantoms, tmp_path, 2, resume=True, refine_from=0.5))


def test_the_learning_rate_warms_up_linearly_then_holds_and_the_log_shows_it(phantoms, tmp_path, monkeypatch):
    from generator.nets import configs

    tiny = configs.get_config("tiny")
    warm = dataclasses.replace(tiny, name="warm", train=dataclasses.replace(tiny.train, lr=1e-3, warmup_steps=4))
    monkeypatch.setitem(configs.CONFIGS, "warm", warm)
    assert [learning_rate(warm.train, step) for step in range(6)] == pytest.approx(
        [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3]
    )
    assert learning_rate(tiny.train, 0) == tiny.train.lr
    train(TrainOptions(stage="superres", config="warm", data=phantoms, out=tmp_path, steps=5, workers=0))
    with (tmp_path / "log.csv").open() as f:
        assert [float(row["lr"]) for row in csv.DictReader(f)] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3])
