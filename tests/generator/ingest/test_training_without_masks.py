"""`train --allow-missing-masks`: cases that lack masks train with those channels left out of their loss."""

from __future__ import annotations

import pytest
import torch

from generator.data.cases import CaseError, write_case
from generator.diffusion.denoiser import Denoiser
from generator.train import TrainOptions, train


@pytest.fixture
def half_masked(phantom, tmp_path):
    """Two training cases of the tiny grid: one whole, one without airway and vessels."""
    write_case(phantom, tmp_path / "data" / "a")
    write_case(type(phantom)(**{**phantom.__dict__, "missing": ("airway", "vessels")}), tmp_path / "data" / "b")
    return tmp_path / "data"


def _options(data, out, **kwargs) -> TrainOptions:
    return TrainOptions(stage="superres", config="tiny", data=data, out=out, steps=1, workers=0, batch_size=2, **kwargs)


def test_training_names_the_cases_that_lack_masks_without_the_flag(half_masked, tmp_path):
    with pytest.raises(CaseError, match=r"1 cases lack masks: b \(airway, vessels\)"):
        train(_options(half_masked, tmp_path / "run"))


@pytest.mark.slow
def test_the_loss_is_given_each_cases_present_channels(half_masked, tmp_path, monkeypatch):
    seen = []
    loss = Denoiser.loss

    def recording(self, x0, t, noise, present=None, **cond):
        seen.append(present.cpu())
        return loss(self, x0, t, noise, present=present, **cond)

    monkeypatch.setattr(Denoiser, "loss", recording)
    train(_options(half_masked, tmp_path / "run", allow_missing_masks=True))
    (present,) = seen
    assert sorted(map(tuple, present.tolist())) == [(True, True, False, False), (True, True, True, True)]
    assert present.dtype == torch.bool
