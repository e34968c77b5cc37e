"""The base and super-resolution UNets and their named configurations."""

import dataclasses
import json
import subprocess
import sys

import pytest
import torch

from generator.nets.blocks import Attention
from generator.nets.configs import ConfigError, config_from_dict, config_to_dict, get_config, make_base, make_superres
from generator.nets.describe import parameter_count


@pytest.fixture(scope="module")
def tiny():
    return get_config("tiny")


def text(batch=1, length=5, dim=768):
    mask = torch.zeros(batch, length, dtype=torch.bool)
    mask[:, :3] = True
    return torch.randn(batch, length, dim), mask


def test_the_tiny_base_model_has_fewer_than_five_million_parameters(tiny):
    assert parameter_count(make_base(tiny, "meta")) < 5_000_000


def test_the_paper_base_model_has_about_seven_hundred_million_parameters():
    assert 650e6 < parameter_count(make_base(get_config("paper"), "meta")) < 750e6


def test_the_paper_superres_model_is_about_fifty_million_parameters_and_much_smaller_than_the_base():
    paper = get_config("paper")
    superres = parameter_count(make_superres(paper, "meta"))
    assert 40e6 < superres < 60e6 and superres * 10 < parameter_count(make_base(paper, "meta"))


def test_the_base_model_maps_four_channels_to_four_channels_at_the_input_size(tiny):
    torch.manual_seed(0)
    context, mask = text()
    out = make_base(tiny)(torch.randn(1, 4, 8, 8, 8), torch.tensor([0.5]), context=context, context_mask=mask)
    assert out.shape == (1, 4, 8, 8, 8)


def test_all_attention_of_the_base_model_is_at_the_bottom(tiny):
    model = make_base(tiny, "meta")
    names = [name for name, module in model.named_modules() if isinstance(module, Attention)]
    assert names and all(name.startswith("unet.middle.") for name in names)


def test_the_base_model_output_depends_on_the_report(tiny):
    torch.manual_seed(0)
    model = make_base(tiny)
    x, t = torch.randn(1, 4, 8, 8, 8), torch.tensor([0.5])
    (c1, m), (c2, _) = text(), text()
    assert not torch.allclose(model(x, t, context=c1, context_mask=m), model(x, t, context=c2, context_mask=m))


def test_the_base_model_ignores_padded_report_tokens(tiny):
    torch.manual_seed(0)
    model = make_base(tiny)
    x, t = torch.randn(1, 4, 8, 8, 8), torch.tensor([0.5])
    context, mask = text()
    changed = context.clone()
    changed[:, 3:] = torch.randn(1, 2, 768)
    torch.testing.assert_close(
        model(x, t, context=context, context_mask=mask), model(x, t, context=changed, context_mask=mask)
    )


def test_the_base_model_rejects_a_grid_its_levels_cannot_halve(tiny):
    context, mask = text()
    with pytest.raises(ValueError, match=r"divisible by \(4, 4, 4\)"):
        make_base(tiny)(torch.randn(1, 4, 6, 8, 8), torch.tensor([0.5]), context=context, context_mask=mask)


def test_the_in_plane_layout_halves_only_x_and_y_with_the_same_parameters(tiny):
    """The authors' layout: the bottom keeps z at full size (a 4× longer attention sequence here)."""
    in_plane = dataclasses.replace(tiny, base=dataclasses.replace(tiny.base, in_plane=True))
    model, seen = make_base(in_plane), []
    model.unet.middle.register_forward_hook(lambda _m, _i, out: seen.append(tuple(out.shape[2:])))
    context, mask = text()
    out = model(torch.randn(1, 4, 8, 8, 6), torch.tensor([0.5]), context=context, context_mask=mask)
    assert out.shape == (1, 4, 8, 8, 6) and seen == [(2, 2, 6)]
    assert parameter_count(model) == parameter_count(make_base(tiny))


def test_the_superres_model_takes_the_noisy_volume_and_the_condition(tiny):
    torch.manual_seed(0)
    model = make_superres(tiny)
    x, low = torch.randn(1, 4, 16, 16, 16), torch.randn(1, 4, 16, 16, 16)
    out = model(x, torch.tensor([0.3]), low=low, low_t=torch.tensor([0.1]))
    assert out.shape == (1, 4, 16, 16, 16)
    assert not torch.allclose(out, model(x, torch.tensor([0.3]), low=-low, low_t=torch.tensor([0.1])))


def test_a_config_survives_a_json_round_trip(tiny):
    assert config_from_dict(json.loads(json.dumps(config_to_dict(tiny)))) == tiny


def test_an_unknown_config_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match="tiny, small, small32, paper"):
        get_config("huge")


def test_describe_prints_parameter_counts_and_memory_for_the_paper_config():
    done = subprocess.run(
        [sys.executable, "-m", "generator", "describe", "--config", "paper"], capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout)
    assert 650e6 < report["base"]["parameters"] < 750e6
    assert report["superres"]["parameters"] < report["base"]["parameters"]
    assert report["base"]["train_step_batch1_gib"] > report["base"]["parameters"] * 16 / 2**30


def test_a_config_saved_before_v_prediction_predicts_x0_and_a_bad_prediction_is_named(tiny):
    data = config_to_dict(tiny)
    assert tiny.base.prediction == tiny.superres.prediction == "v"
    for net in ("base", "superres"):
        del data[net]["prediction"]
    old = config_from_dict(data)
    assert old.base.prediction == old.superres.prediction == "x0"
    data["superres"]["prediction"] = "eps"
    with pytest.raises(ConfigError, match="prediction 'eps'"):
        config_from_dict(data)


def test_the_pooled_report_reaches_every_block_even_with_the_cross_attention_switched_off(tiny):
    """With pooled_text the report enters the time embedding, so it steers the output without the bottom's
    cross-attention; a config saved before the option existed has no pooling and loads without it."""
    torch.manual_seed(0)
    model = make_base(tiny)
    for layers in model.unet.middle.layers:
        layers[1].out.weight.data.zero_()
        layers[1].out.bias.data.zero_()
    x, t = torch.randn(1, 4, 8, 8, 8), torch.tensor([0.5])
    (c1, m), (c2, _) = text(), text()
    assert not torch.allclose(model(x, t, context=c1, context_mask=m), model(x, t, context=c2, context_mask=m))
    data = config_to_dict(tiny)
    del data["base"]["pooled_text"]
    old = config_from_dict(data)
    assert tiny.base.pooled_text and not old.base.pooled_text and make_base(old).pool is None
    assert parameter_count(make_base(old)) < parameter_count(model)
