"""Self-describing, atomic checkpoints."""

import json

import pytest
import torch

from contracts.digests import file_sha256
from generator.checkpoints import CheckpointError, load_checkpoint, load_training_state, save_checkpoint
from generator.nets.configs import get_config, make_superres


def save(folder, step, seed=0):
    config = get_config("tiny")
    torch.manual_seed(seed)
    model, ema = make_superres(config), make_superres(config)
    optimizer = torch.optim.AdamW(model.parameters())
    digest = save_checkpoint(
        folder,
        stage="superres",
        config=config,
        step=step,
        model=model,
        ema=ema,
        optimizer=optimizer,
        info={"seed": seed},
    )
    return model, ema, digest


def test_a_checkpoint_loads_its_ema_model_config_step_and_digest_in_one_call(tmp_path):
    _, ema, digest = save(tmp_path, 7)
    model, config, step, loaded_digest = load_checkpoint(tmp_path)
    assert (config.name, step, loaded_digest) == ("tiny", 7, digest)
    for name, value in ema.state_dict().items():
        assert torch.equal(model.state_dict()[name], value)
    assert not model.training


def test_the_digest_is_the_sha256_of_the_ema_weights_file(tmp_path):
    _, _, digest = save(tmp_path, 3)
    index = json.loads((tmp_path / "checkpoint.json").read_text())
    assert digest == file_sha256(tmp_path / index["files"]["ema"])


def test_a_new_checkpoint_replaces_the_previous_step_files(tmp_path):
    save(tmp_path, 1)
    save(tmp_path, 2, seed=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint.json",
        "ema-2.safetensors",
        "model-2.safetensors",
        "training-2.pt",
    ]


def test_an_interrupted_save_leaves_the_last_good_checkpoint_loadable(tmp_path, monkeypatch):
    _, _, digest = save(tmp_path, 1)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("generator.checkpoints.os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        save(tmp_path, 2, seed=1)
    assert load_checkpoint(tmp_path)[2:] == (1, digest)


def test_the_training_state_holds_the_optimizer_and_the_seed(tmp_path):
    save(tmp_path, 4, seed=9)
    state = load_training_state(tmp_path)
    assert state.step == 4 and state.info["seed"] == 9 and "param_groups" in state.optimizer


def test_a_folder_without_a_checkpoint_is_reported_clearly(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint.json"):
        load_checkpoint(tmp_path)


def test_a_missing_weights_file_is_named(tmp_path):
    save(tmp_path, 1)
    (tmp_path / "ema-1.safetensors").unlink()
    with pytest.raises(CheckpointError, match="ema-1.safetensors is missing"):
        load_checkpoint(tmp_path)
