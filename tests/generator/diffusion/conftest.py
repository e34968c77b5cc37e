"""Shared fixtures: a few 32³ phantoms (tiny config grid), a tiny pre-trained report encoder and tiny models."""

from pathlib import Path

import pytest

from generator.__main__ import main


@pytest.fixture(scope="session")
def phantoms(tmp_path_factory) -> Path:
    """Ten 32³ phantom case folders (pre-training the encoder needs at least ten reports)."""
    out = tmp_path_factory.mktemp("phantoms")
    assert main(["phantoms", "--out", str(out), "--n", "10", "--size", "32", "--seed", "3"]) == 0
    return out


@pytest.fixture(scope="session")
def text_encoder(phantoms, tmp_path_factory) -> Path:
    """A tiny BERT pre-trained for two steps on the phantoms' reports."""
    out = tmp_path_factory.mktemp("text") / "encoder"
    assert (
        main(
            [
                "pretrain-text",
                "--data",
                str(phantoms),
                "--out",
                str(out),
                "--config",
                "tiny",
                "--steps",
                "2",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    return out


@pytest.fixture(scope="session")
def models(phantoms, text_encoder, tmp_path_factory):
    """Base and super-resolution checkpoints trained for two steps each by the `train` command."""
    root = tmp_path_factory.mktemp("models")
    for stage in ("base", "superres"):
        assert (
            main(
                [
                    "train",
                    "--stage",
                    stage,
                    "--config",
                    "tiny",
                    "--data",
                    str(phantoms),
                    "--text-encoder",
                    str(text_encoder),
                    "--out",
                    str(root / stage),
                    "--steps",
                    "2",
                    "--workers",
                    "0",
                ]
            )
            == 0
        )
    return {"base": root / "base", "superres": root / "superres", "text": text_encoder}


def quick_generation_args(models) -> list[str]:
    """The options every generating command of these tests shares: the tiny models, two steps per stage, the CPU."""
    return [
        "--base",
        str(models["base"]),
        "--superres",
        str(models["superres"]),
        "--text-encoder",
        str(models["text"]),
        "--steps-base",
        "2",
        "--steps-superres",
        "2",
        "--device",
        "cpu",
    ]
