"""pair_sections and mask_tokens: the two pre-training tasks' examples."""

import numpy as np
import pytest
import torch

from generator.text.errors import TextError
from generator.text.examples import PAIRED, SWAPPED, mask_tokens, pair_sections
from generator.text.sections import Sections

SECTIONS = [Sections(f"Findings {i}.", f"Impression {i}.") for i in range(20)]
IMPRESSIONS = [s.impression for s in SECTIONS]


def test_it_swaps_the_impression_of_exactly_half_the_examples():
    _, labels = pair_sections(SECTIONS, IMPRESSIONS, np.random.default_rng(0))
    assert labels.count(SWAPPED) == 10 and labels.count(PAIRED) == 10


def test_paired_examples_keep_their_own_impression_and_swapped_ones_get_another():
    pairs, labels = pair_sections(SECTIONS, IMPRESSIONS, np.random.default_rng(1))
    for section, (findings, impression), label in zip(SECTIONS, pairs, labels):
        assert findings == section.findings
        assert (impression == section.impression) == (label == PAIRED)
        assert impression in IMPRESSIONS


def test_it_never_swaps_in_an_identical_impression_text():
    sections = [Sections("a", "Normal.")] * 9 + [Sections("b", "Effusion.")]
    pairs, labels = pair_sections(sections, [s.impression for s in sections], np.random.default_rng(2))
    for section, (_, impression), label in zip(sections, pairs, labels):
        assert label == PAIRED or impression != section.impression


def test_it_rejects_reports_that_all_share_one_impression():
    with pytest.raises(TextError, match="same Impression"):
        pair_sections([Sections("a", "Normal.")] * 4, ["Normal."] * 4, np.random.default_rng(0))


def test_masking_predicts_about_fifteen_percent_of_the_ordinary_tokens():
    ids = torch.randint(5, 1000, (64, 128))
    special = torch.zeros_like(ids, dtype=torch.bool)
    _, labels = mask_tokens(ids, special, mask_id=4, vocab_size=1000, generator=torch.Generator().manual_seed(0))
    fraction = (labels != -100).float().mean().item()
    assert 0.14 < fraction < 0.16  # 8192 tokens: the standard error of the fraction is 0.004


def test_masking_turns_most_chosen_tokens_into_mask_and_labels_them_with_the_original():
    ids = torch.randint(5, 1000, (64, 128))
    masked, labels = mask_tokens(
        ids, torch.zeros_like(ids, dtype=torch.bool), 4, 1000, torch.Generator().manual_seed(0)
    )
    chosen = labels != -100
    assert torch.equal(labels[chosen], ids[chosen])
    assert 0.77 < (masked[chosen] == 4).float().mean().item() < 0.83
    assert torch.equal(masked[~chosen], ids[~chosen])


def test_masking_leaves_special_tokens_and_padding_alone():
    ids = torch.randint(5, 1000, (8, 32))
    special = torch.rand(ids.shape, generator=torch.Generator().manual_seed(1)) < 0.5
    masked, labels = mask_tokens(ids, special, 4, 1000, torch.Generator().manual_seed(0))
    assert torch.equal(masked[special], ids[special])
    assert (labels[special] == -100).all()
