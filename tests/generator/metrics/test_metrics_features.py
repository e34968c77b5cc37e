"""Feature extractors: FID/MMD on phantom features are ≈ 0 for a set against itself and grow with a
planted HU shift (fixed-seed random CNN); trained extractors round-trip with their digest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from generator.data.cases import read_case
from generator.metrics.distances import frechet_distance, median_bandwidth, mmd2_unbiased
from generator.metrics.extractors import embed, medicalnet_extractor, seeded_extractor
from generator.metrics.features import FeatureConfig, FeatureError, load_extractor
from generator.metrics.training import train_features

SMALL = FeatureConfig(input_size=32, channels=(8, 16, 32, 64))  # the tests' extractor: a 32³ input keeps them fast


@pytest.fixture(scope="module")
def cts(phantom_sets):
    """The CT arrays of the 'real' and 'generated' phantom folders, together."""
    return [read_case(f).ct for key in ("real", "generated") for f in sorted(phantom_sets[key].iterdir())]


def test_fid_of_phantom_features_against_themselves_is_zero(cts):
    extractor = seeded_extractor(0, SMALL)
    feats = np.stack([embed(extractor, ct) for ct in cts])
    assert frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-6)


def test_fid_and_mmd_grow_with_a_planted_hu_shift(cts):
    extractor = seeded_extractor(0, SMALL)
    base = np.stack([embed(extractor, ct) for ct in cts])
    bandwidth = median_bandwidth(base)  # one kernel for all shifts: the median heuristic would widen with the shift
    fids, mmds = [], []
    for shift in (0, 60, 200):
        shifted = np.stack([embed(extractor, ct.astype(np.int32) + shift) for ct in cts])
        fids.append(frechet_distance(base, shifted))
        mmds.append(mmd2_unbiased(base, shifted, bandwidth))
    assert fids[0] == pytest.approx(0.0, abs=1e-6) and fids[0] < fids[1] < fids[2]
    assert mmds[0] < mmds[1] < mmds[2]


def test_the_seeded_extractor_is_reproducible(cts):
    assert np.array_equal(embed(seeded_extractor(3, SMALL), cts[0]), embed(seeded_extractor(3, SMALL), cts[0]))


def test_a_trained_extractor_round_trips_with_its_digest(phantom_sets, tmp_path):
    summary = train_features(phantom_sets["real"], tmp_path / "fx", epochs=1, batch_size=2)
    model, config, digest = load_extractor(tmp_path / "fx")
    assert digest == summary["digest"] == json.loads((tmp_path / "fx" / "config.json").read_text())["digest"]
    assert config.channels[-1] == 128


def test_it_rejects_an_extractor_whose_weights_changed(phantom_sets, tmp_path):
    train_features(phantom_sets["real"], tmp_path / "fx", epochs=1, batch_size=2)
    weights = tmp_path / "fx" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(FeatureError, match="differs from config.json"):
        load_extractor(tmp_path / "fx")


def test_it_rejects_a_medicalnet_file_that_is_not_a_checkpoint(tmp_path):
    bad = tmp_path / "resnet_10.pth"
    bad.write_text("not a checkpoint")
    with pytest.raises(FeatureError, match="not a readable PyTorch checkpoint"):
        medicalnet_extractor(bad, 10)


def test_a_medicalnet_style_checkpoint_loads_with_module_prefixes(tmp_path, cts):
    import torch
    from monai.networks.nets import resnet

    net = resnet.resnet10(
        spatial_dims=3,
        n_input_channels=1,
        feed_forward=False,
        shortcut_type="B",
        conv1_t_size=7,
        conv1_t_stride=2,
        bias_downsample=False,
    )
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, tmp_path / "r10.pth")
    assert embed(medicalnet_extractor(tmp_path / "r10.pth", 10), cts[0]).shape == (512,)
