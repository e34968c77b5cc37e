"""DDIM, classifier-free guidance and fixed channels."""

import torch

from generator.diffusion.ddim import sample_ddim
from generator.diffusion.denoiser import Denoiser, add_noise, x0_from_output
from generator.diffusion.fixed import with_fixed_channels
from generator.diffusion.guidance import guided
from generator.diffusion.schedule import alpha_bar, sampling_times


def test_ddim_with_a_perfect_x0_predictor_returns_x0():
    x0 = torch.randn(2, 4, 4, 4, 4, generator=torch.Generator().manual_seed(1))
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(2))
    out = sample_ddim(lambda x, t: x0, noise, sampling_times(10))
    assert torch.equal(out, x0)


def test_ddim_keeps_the_forward_noised_path_of_a_perfect_predictor():
    x0 = torch.randn(1, 2, 4, 4, 4, generator=torch.Generator().manual_seed(1))
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(2))
    seen = []
    sample_ddim(lambda x, t: x0, noise, sampling_times(5), callback=seen.append)
    t = sampling_times(5)[2]
    assert torch.allclose(seen[1]["x"], add_noise(x0, t.view(1), noise), atol=1e-5)


def test_guidance_at_scale_one_equals_the_conditional_prediction():
    model = lambda x, t, context, context_mask: x * context.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1)
    x, t = torch.randn(2, 4, 2, 2, 2), torch.full((2,), 0.5)
    cond, uncond = torch.randn(2, 3, 5), torch.zeros(2, 3, 5)
    mask = torch.ones(2, 3, dtype=torch.bool)
    out = guided(model, 1.0)(x, t, context=cond, context_mask=mask, uncond_context=uncond, uncond_mask=mask)
    assert torch.equal(out, model(x, t, cond, mask))


def test_guidance_extrapolates_from_the_unconditional_towards_the_conditional_prediction():
    model = lambda x, t, context, context_mask: context.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1).expand_as(x)
    x, t = torch.zeros(1, 1, 2, 2, 2), torch.full((1,), 0.5)
    mask = torch.ones(1, 1, dtype=torch.bool)
    out = guided(model, 3.0)(
        x,
        t,
        context=torch.full((1, 1, 1), 2.0),
        context_mask=mask,
        uncond_context=torch.full((1, 1, 1), 1.0),
        uncond_mask=mask,
    )
    assert torch.allclose(out, torch.full_like(x, 1.0 + 3.0 * (2.0 - 1.0)))


def test_guidance_evaluates_conditional_and_unconditional_in_one_batch():
    calls = []

    def model(x, t, context, context_mask):
        calls.append(x.shape[0])
        return x

    mask = torch.ones(2, 1, dtype=torch.bool)
    guided(model, 2.0)(
        torch.zeros(2, 1, 2, 2, 2),
        torch.ones(2),
        context=torch.ones(2, 1, 1),
        context_mask=mask,
        uncond_context=torch.zeros(2, 1, 1),
        uncond_mask=mask,
    )
    assert calls == [4]


def test_fixed_channels_are_held_exactly_to_their_known_values():
    known = torch.randn(1, 4, 4, 4, 4, generator=torch.Generator().manual_seed(3))
    mask = torch.tensor([False, True, False, True])
    net = lambda x, t: torch.tanh(x)  # an arbitrary, imperfect denoiser
    noise = torch.randn(known.shape, generator=torch.Generator().manual_seed(4))
    out = sample_ddim(with_fixed_channels(net, known, mask), noise, sampling_times(8))
    assert torch.equal(out[:, mask], known[:, mask])
    assert not torch.equal(out[:, ~mask], known[:, ~mask])


def test_fixed_channels_of_x_t_follow_the_forward_noised_known_values():
    known = torch.randn(1, 2, 4, 4, 4, generator=torch.Generator().manual_seed(3))
    mask = torch.tensor([True, False])
    noise = torch.randn(known.shape, generator=torch.Generator().manual_seed(4))
    seen = []
    times = sampling_times(6)
    sample_ddim(with_fixed_channels(lambda x, t: 0.5 * x, known, mask), noise, times, callback=seen.append)
    expected = add_noise(known, times[3].view(1), noise)
    assert torch.allclose(seen[2]["x"][:, 0], expected[:, 0], atol=1e-5)


def test_the_denoiser_loss_is_zero_for_a_network_that_returns_x0():
    x0 = torch.randn(2, 4, 4, 4, 4)

    class Oracle(torch.nn.Module):
        def forward(self, x_t, t, true_noise):
            a = alpha_bar(t).view(-1, 1, 1, 1, 1)
            return (x_t - (1 - a).sqrt() * true_noise) / a.sqrt()

    noise = torch.randn_like(x0)
    loss = Denoiser(Oracle()).loss(x0, torch.full((2,), 0.3), noise, true_noise=noise)
    assert loss.item() < 1e-10


def test_a_v_prediction_gives_back_x0_and_its_loss_is_the_error_of_v():
    x0, noise = torch.randn(3, 4, 4, 4, 4), torch.randn(3, 4, 4, 4, 4)
    t = torch.tensor([0.02, 0.4, 0.97])
    a = alpha_bar(t).view(-1, 1, 1, 1, 1)
    v = a.sqrt() * noise - (1 - a).sqrt() * x0  # Salimans & Ho 2022, section 4
    x_t = add_noise(x0, t, noise)
    assert torch.allclose(x0_from_output("v", x_t, t, v), x0, atol=1e-5)
    assert torch.equal(x0_from_output("x0", x_t, t, v), v)

    v_hat = v + torch.randn(v.shape, generator=torch.Generator().manual_seed(3))

    class VNet(torch.nn.Module):  # raw output v_hat
        def forward(self, x_t, t):
            return v_hat

    class X0Net(torch.nn.Module):  # raw output: the x0 that v_hat stands for
        def forward(self, x_t, t):
            return x0_from_output("v", x_t, t, v_hat)

    loss = Denoiser(VNet(), "v").loss(x0, t, noise)
    assert torch.allclose(loss, (v_hat - v).square().mean(), rtol=1e-3)
    assert torch.allclose(
        Denoiser(X0Net(), "x0").loss(x0, t, noise), ((1 - a) * (v_hat - v).square()).mean(), rtol=1e-3
    )


def test_an_untrained_v_network_already_returns_the_nearly_clean_volume_at_low_noise():
    x0, noise = torch.randn(1, 4, 4, 4, 4), torch.randn(1, 4, 4, 4, 4)
    t = torch.tensor([0.02])
    x_t = add_noise(x0, t, noise)
    zero = torch.zeros_like(x0)
    rms = lambda estimate: float((estimate - x0).square().mean().sqrt())  # noqa: E731
    assert rms(x0_from_output("v", x_t, t, zero)) < 0.1 < 0.5 < rms(x0_from_output("x0", x_t, t, zero))
