"""The continuous cosine schedule (Nichol & Dhariwal 2021, eq. 17)."""

import math

import torch

from generator.diffusion.schedule import T, alpha_bar, sampling_times, training_times


def test_alpha_bar_is_one_at_time_zero_and_zero_at_time_one():
    values = alpha_bar(torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert values[0].item() == 1.0
    assert abs(values[1].item()) < 1e-12


def test_alpha_bar_decreases_strictly_over_the_thousand_steps():
    values = alpha_bar(torch.arange(T + 1, dtype=torch.float64) / T)
    assert torch.all(values[1:] < values[:-1])


def test_alpha_bar_at_half_time_matches_the_closed_form():
    s = 0.008
    expected = math.cos((0.5 + s) / (1 + s) * math.pi / 2) ** 2 / math.cos(s / (1 + s) * math.pi / 2) ** 2
    assert abs(alpha_bar(torch.tensor(0.5, dtype=torch.float64)).item() - expected) < 1e-12


def test_sampling_times_run_from_one_to_zero_on_the_discrete_steps():
    times = sampling_times(50)
    assert len(times) == 51 and times[0] == 1.0 and times[-1] == 0.0
    assert torch.all(times[1:] < times[:-1])
    assert torch.allclose(times * T, (times * T).round())


def test_training_times_are_discrete_steps_between_one_step_and_one():
    times = training_times(10_000, torch.Generator().manual_seed(0))
    assert times.min() >= 1 / T and times.max() <= 1.0
    assert torch.allclose(times * T, (times * T).round())


def test_a_larger_rho_spends_the_steps_at_low_noise_on_a_strictly_decreasing_grid():
    uniform, spaced = sampling_times(5, 0.15), sampling_times(5, 0.15, rho=3.0)
    assert torch.allclose(uniform * T, torch.tensor([150.0, 120, 90, 60, 30, 0]))
    assert torch.allclose(spaced * T, torch.tensor([150.0, 77, 32, 10, 1, 0]))  # 150 · (1 − i/5)³, rounded
    crowded = sampling_times(10, 0.01, rho=3.0)  # rounding would merge the smallest times: they stay one step apart
    assert torch.allclose(crowded * T, torch.arange(10.0, -1, -1))
    assert torch.equal(sampling_times(50), torch.linspace(T, 0, 51).round() / T)
