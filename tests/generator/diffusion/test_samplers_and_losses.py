"""DPM-Solver++(2M) against DDIM, thresholding, the weighted loss, the refiner's condition and time grids."""

import dataclasses

import torch

from generator.diffusion.ddim import sample_ddim
from generator.diffusion.denoiser import PARAMETERISATIONS, Denoiser, LossWeights
from generator.diffusion.dpm_solver import sample_dpmpp_2m
from generator.diffusion.schedule import T, alpha_bar, sampling_times, training_times
from generator.diffusion.thresholding import thresholded
from generator.nets.blocks import TIME_SCALE
from generator.nets.configs import PREDICTIONS, config_from_dict, config_to_dict, get_config
from generator.sampling import condition

MEAN, SD = 0.3, 0.5


def gaussian_denoiser(x, t):
    """The exact x0 estimate E[x0 | x_t] for data x0 ~ N(MEAN, SD²) in every voxel."""
    a = alpha_bar(t.double()).view(-1, *([1] * (x.dim() - 1)))
    alpha, var = a.sqrt(), 1 - a
    return (MEAN + alpha * SD**2 / (a * SD**2 + var) * (x.double() - alpha * MEAN)).to(x.dtype)


def test_dpm_solver_follows_the_probability_flow_closer_than_ddim_in_the_same_steps():
    # For Gaussian data the probability-flow ODE maps the pure noise z at t = 1 to exactly MEAN + SD·z at t = 0.
    z = torch.randn(1, 1, 8, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    exact = MEAN + SD * z
    error = {
        name: float((sampler(gaussian_denoiser, z, sampling_times(8)) - exact).abs().max())
        for name, sampler in (("ddim", sample_ddim), ("dpm", sample_dpmpp_2m))
    }
    assert error["dpm"] < 0.5 * error["ddim"]


def test_dpm_solver_with_a_perfect_x0_predictor_returns_x0():
    x0 = torch.randn(2, 4, 4, 4, 4, generator=torch.Generator().manual_seed(1))
    out = sample_dpmpp_2m(lambda x, t: x0, torch.randn(x0.shape), sampling_times(10))
    assert torch.allclose(out, x0)


def test_static_thresholding_clips_and_dynamic_thresholding_rescales_only_what_overshoots():
    inside = torch.linspace(-1, 1, 1000).view(1, 1, 10, 10, 10)
    wild = 3 * inside
    t = torch.zeros(1)
    assert torch.equal(thresholded(lambda x, t: wild, "static")(wild, t), wild.clamp(-1, 1))
    assert torch.equal(thresholded(lambda x, t: inside, "dynamic")(inside, t), inside)
    scaled = thresholded(lambda x, t: wild, "dynamic")(wild, t)
    assert float(scaled.abs().max()) <= 1.0 and float(scaled.abs().max()) > 0.99
    assert torch.allclose(scaled[0, 0, 5], wild[0, 0, 5] / float(wild.abs().flatten().kthvalue(995).values))


class Constant(torch.nn.Module):
    """A network whose raw output is a fixed volume."""

    def __init__(self, output):
        super().__init__()
        self.output = output

    def forward(self, x, t):
        return self.output


def test_a_channel_left_out_by_its_weight_or_by_present_does_not_enter_the_loss():
    x0, noise, t = torch.zeros(2, 4, 2, 2, 2), torch.randn(2, 4, 2, 2, 2), torch.full((2,), 0.5)
    output = torch.zeros(2, 4, 2, 2, 2)
    output[:, 3] = 5.0  # only the vessels channel is wrong
    assert float(Denoiser(Constant(output)).loss(x0, t, noise)) == 25.0 / 4
    assert float(Denoiser(Constant(output), weights=LossWeights((1, 1, 1, 0))).loss(x0, t, noise)) == 0.0
    present = torch.tensor([[True, True, True, False], [True, True, True, True]])
    # sample 0 has no vessels: 7 channel means enter, one of them 25
    assert abs(float(Denoiser(Constant(output)).loss(x0, t, noise, present=present)) - 25.0 / 7) < 1e-6


def test_the_soft_tissue_term_adds_the_window_error_in_window_units():
    x0 = torch.full((1, 4, 2, 2, 2), -1.0)
    x0[0, 0, 0] = 0.0  # half the CT voxels are inside the window (-0.5, 0.5), the others at -1
    output = x0.clone()
    output[0, 0] += 0.1  # CT error 0.1 everywhere
    weights = LossWeights(soft_tissue=2.0, window=(-0.5, 0.5))
    loss = Denoiser(Constant(output), weights=weights).loss(x0, torch.full((1,), 0.5), torch.zeros_like(x0))
    ct = 0.01 + 2.0 * (2.0 / 1.0) ** 2 * 0.01  # plain error plus the weighted window error, rescaled by (2/1)²
    assert abs(float(loss) - ct / 4) < 1e-6


def test_the_soft_tissue_term_leaves_out_the_noise_levels_above_its_limit():
    """Above `soft_tissue_until` the loss is the plain weighted mean, whose optimum is the posterior mean."""
    x0 = torch.full((2, 4, 2, 2, 2), -1.0)
    x0[:, 0, 0] = 0.0
    output = x0.clone()
    output[:, 0] += 0.1
    weights = LossWeights(soft_tissue=2.0, window=(-0.5, 0.5), soft_tissue_until=0.1)
    denoiser = Denoiser(Constant(output), weights=weights)
    low, high = torch.full((2,), 0.05), torch.full((2,), 0.5)
    with_term, plain = 0.01 + 2.0 * 4.0 * 0.01, 0.01
    assert abs(float(denoiser.loss(x0, low, torch.zeros_like(x0))) - with_term / 4) < 1e-6
    assert abs(float(denoiser.loss(x0, high, torch.zeros_like(x0))) - plain / 4) < 1e-6
    mixed = float(denoiser.loss(x0, torch.tensor([0.05, 0.5]), torch.zeros_like(x0)))
    assert abs(mixed - (with_term + plain) / 8) < 1e-6


def test_a_refiner_condition_is_noised_at_low_resolution_so_each_block_of_voxels_is_constant():
    refiner = get_config("tiny").superres
    low = torch.rand(1, 4, 4, 4, 4)
    noise = torch.randn(1, 4, 8, 8, 8)
    cond = condition(refiner, low, torch.full((1,), 0.1), noise, 2)
    assert torch.equal(cond[..., ::2, ::2, ::2], cond[..., 1::2, 1::2, 1::2])
    full = condition(dataclasses.replace(refiner, low_noise_space="full"), low, torch.full((1,), 0.1), noise, 2)
    assert not torch.equal(full[..., ::2, ::2, ::2], full[..., 1::2, 1::2, 1::2])


def test_a_truncated_chain_samples_from_t0_and_trains_on_times_up_to_t0():
    grid = sampling_times(6, 0.3)
    assert round(float(grid[0]), 6) == 0.3 and float(grid[-1]) == 0.0 and len(grid) == 7
    times = training_times(10_000, torch.Generator().manual_seed(0), start=0.3)
    assert float(times.min()) >= 1 / T and round(float(times.max()), 6) == 0.3


def test_a_config_saved_before_the_refiner_existed_runs_the_full_chain_with_its_old_noise_and_grid():
    data = config_to_dict(get_config("small"))
    for key in ("low_noise_space", "start_t", "time_features"):
        del data["superres"][key]
    del data["base"]["time_features"], data["factor"]
    del data["train"]["loss_channels"], data["train"]["soft_tissue_weight"], data["train"]["soft_tissue_until"]
    old = config_from_dict(data)
    assert (old.superres.low_noise_space, old.superres.start_t, old.factor) == ("full", 1.0, 4)
    assert old.base.time_features is old.superres.time_features is None
    assert (old.train.loss_channels, old.train.soft_tissue_weight) == ((1.0, 1.0, 1.0, 1.0), 0.0)
    assert old.train.soft_tissue_until == 1.0


def test_the_networks_and_the_denoiser_agree_on_the_time_scale_and_the_parameterisations():
    assert TIME_SCALE == T
    assert set(PREDICTIONS) == set(PARAMETERISATIONS)
