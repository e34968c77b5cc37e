"""Model space: the stated linear maps, their exact inverse, and 4× nearest-neighbour resampling."""

from __future__ import annotations

import numpy as np
import torch

from generator.data.cases import Case
from generator.data.model_space import downsample, from_model, to_model, upsample


def _case(ct, lobes=None) -> Case:
    shape = np.shape(ct)
    return Case(
        ct=np.asarray(ct, np.int16),
        lobes=np.zeros(shape, np.uint8) if lobes is None else lobes,
        airway=np.zeros(shape, np.uint8),
        vessels=np.ones(shape, np.uint8),
        affine=np.eye(4),
    )


def test_the_ct_window_ends_and_middle_map_to_minus_one_zero_and_one():
    x = to_model(_case(np.array([-1024, -212, 600, -3000, 2000]).reshape(5, 1, 1)))
    assert np.allclose(x[0].ravel(), [-1, 0, 1, -1, 1])


def test_lobe_labels_and_masks_encode_as_label_times_point_four_minus_one_and_two_m_minus_one():
    lobes = np.arange(6, dtype=np.uint8).reshape(6, 1, 1)
    x = to_model(_case(np.zeros((6, 1, 1)), lobes))
    assert np.allclose(x[1].ravel(), [-1, -0.6, -0.2, 0.2, 0.6, 1.0])
    assert np.all(x[2] == -1) and np.all(x[3] == 1)
    assert x.dtype == np.float32 and x.shape == (4, 6, 1, 1)


def test_decoding_inverts_encoding_exactly_inside_the_window(small_case):
    clipped = Case(**{**small_case.__dict__, "ct": np.clip(small_case.ct, -1024, 600)})
    back = from_model(to_model(clipped), clipped.affine)
    for name in ("ct", "lobes", "airway", "vessels"):
        assert np.array_equal(getattr(back, name), getattr(clipped, name))


def test_decoding_rounds_and_clips_noisy_samples():
    x = np.zeros((4, 3, 1, 1), np.float32)
    x[0] = np.array([-1.5, 1.5, 0.001]).reshape(3, 1, 1)
    x[1] = np.array([-1.3, 0.25, 1.7]).reshape(3, 1, 1)
    x[2] = np.array([-0.1, 0.1, 0.0]).reshape(3, 1, 1)
    case = from_model(x, np.eye(4))
    assert case.ct.ravel().tolist() == [-1024, 600, -211]
    assert case.lobes.ravel().tolist() == [0, 3, 5]
    assert case.airway.ravel().tolist() == [0, 1, 0]


def test_downsampling_keeps_every_fourth_voxel_for_arrays_and_tensors_with_leading_dims():
    x = np.arange(2 * 4 * 8 * 8 * 8, dtype=np.float32).reshape(2, 4, 8, 8, 8)
    low = downsample(x)
    assert low.shape == (2, 4, 2, 2, 2) and low[1, 2, 1, 0, 1] == x[1, 2, 4, 0, 4]
    assert torch.equal(downsample(torch.from_numpy(x)), torch.from_numpy(np.ascontiguousarray(low)))


def test_upsampling_repeats_each_voxel_and_downsampling_undoes_it():
    low = np.random.default_rng(0).normal(size=(4, 3, 3, 3)).astype(np.float32)
    up = upsample(low)
    assert up.shape == (4, 12, 12, 12) and up[0, 5, 6, 7] == low[0, 1, 1, 1]
    assert np.array_equal(downsample(up), low)
    assert torch.equal(upsample(torch.from_numpy(low)), torch.from_numpy(up))
