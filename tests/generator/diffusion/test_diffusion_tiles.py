"""Overlapping-tile evaluation of the super-resolution denoiser."""

import torch

from generator.diffusion.tiles import tile_starts, tiled


def test_tiles_cover_the_volume_with_the_requested_overlap():
    starts = tile_starts(40, 16, 4)
    assert starts == [0, 12, 24]
    assert all(b - a <= 16 - 4 for a, b in zip(starts, starts[1:]))


def test_a_voxelwise_model_gives_the_same_result_tiled_and_whole():
    model = lambda x, t, low, low_t: 2 * x + low * low_t.view(-1, 1, 1, 1, 1)
    x, low = torch.randn(1, 4, 24, 20, 28), torch.randn(1, 4, 24, 20, 28)
    t, low_t = torch.tensor([0.5]), torch.tensor([0.3])
    whole = model(x, t, low=low, low_t=low_t)
    torch.testing.assert_close(tiled(model, 12, 4)(x, t, low=low, low_t=low_t), whole)


def test_a_tile_larger_than_the_volume_is_one_pass():
    calls = []
    model = lambda x, t: calls.append(x.shape) or x
    tiled(model, 64, 8)(torch.zeros(1, 1, 16, 16, 16), torch.zeros(1))
    assert calls == [(1, 1, 16, 16, 16)]
