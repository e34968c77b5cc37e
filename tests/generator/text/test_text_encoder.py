"""ReportEncoder: frozen token features and attention mask from a local BERT folder."""

import json

import pytest
import torch
from transformers import AutoModel

from contracts.digests import file_sha256
from generator.text.encoder import ReportEncoder
from generator.text.errors import TextError
from tests.generator.text.conftest import example_report

REPORTS = [example_report(), "There are large pleural effusions.", ""]


@pytest.fixture(scope="module")
def tiny_encoder(tiny_run) -> ReportEncoder:
    """Our tiny pre-trained BERT as an encoder with 32 tokens."""
    return ReportEncoder.load(tiny_run[0], max_length=32)


@pytest.fixture(scope="module")
def minilm_encoder(minilm) -> ReportEncoder:
    """The real all-MiniLM-L6-v2 (a plain BertModel) as an encoder with 24 tokens."""
    return ReportEncoder.load(minilm, max_length=24)


def test_it_returns_float_features_and_a_bool_mask_of_the_fixed_length(tiny_encoder):
    features, mask = tiny_encoder(REPORTS)
    assert features.shape == (3, 32, tiny_encoder.dim) and features.dtype == torch.float32
    assert mask.shape == (3, 32) and mask.dtype == torch.bool


def test_it_loads_the_minilm_folder_with_its_hidden_size(minilm_encoder):
    features, mask = minilm_encoder(REPORTS)
    assert minilm_encoder.dim == 384 and features.shape == (3, 24, 384)


def test_the_mask_covers_cls_findings_sep_impression_sep_and_nothing_after(minilm_encoder):
    tokenizer = minilm_encoder.tokenizer
    expected = len(tokenizer("Heart size is normal.", "No acute abnormality.")["input_ids"])
    _, mask = minilm_encoder([example_report("Heart size is normal.", "No acute abnormality.")])
    assert mask[0].tolist() == [True] * expected + [False] * (24 - expected)


def test_the_empty_report_is_cls_and_sep_only(minilm_encoder):
    _, mask = minilm_encoder([""])
    assert mask[0].sum().item() == 2


def test_features_are_zero_at_padding(minilm_encoder):
    features, mask = minilm_encoder(REPORTS)
    assert features[~mask].abs().max().item() == 0.0
    assert features[mask].abs().min(dim=-1).values.gt(0).all()


def test_a_long_report_is_cut_to_max_length_ending_with_sep(minilm_encoder):
    long = example_report("The heart is enlarged. " * 40, "Cardiomegaly with a large effusion. " * 20)
    _, mask = minilm_encoder([long])
    ids = minilm_encoder.tokenizer(
        *("The heart is enlarged. " * 40, "Cardiomegaly with a large effusion. " * 20),
        truncation="longest_first",
        max_length=24,
    )["input_ids"]
    assert mask.all() and len(ids) == 24 and ids[-1] == minilm_encoder.tokenizer.sep_token_id
    assert ids.count(minilm_encoder.tokenizer.sep_token_id) == 2  # both sections survive the cut


def test_the_same_report_gives_the_same_features_alone_or_in_a_batch(tiny_encoder):
    alone, _ = tiny_encoder([REPORTS[0]])
    batched, _ = tiny_encoder(REPORTS + REPORTS)
    assert torch.allclose(alone[0], batched[0], atol=1e-5) and torch.equal(batched[0], batched[3])


def test_a_bare_prompt_reads_like_the_same_text_under_a_findings_heading(minilm_encoder):
    bare, _ = minilm_encoder(["There are large pleural effusions."])
    headed, _ = minilm_encoder(["FINDINGS: There are large pleural effusions."])
    assert torch.equal(bare, headed)


def test_findings_and_impression_give_other_features_than_findings_alone(minilm_encoder):
    both, _ = minilm_encoder([example_report()])
    findings_only, _ = minilm_encoder([f"FINDINGS: {example_report().split('FINDINGS:')[1].split('IMPRESSION')[0]}"])
    assert not torch.allclose(both, findings_only)


def test_the_weights_are_frozen_and_in_eval_mode(tiny_encoder):
    assert not tiny_encoder.model.training
    assert not any(p.requires_grad for p in tiny_encoder.model.parameters())


def test_its_features_match_the_last_hidden_state_of_automodel(minilm, minilm_encoder):
    model = AutoModel.from_pretrained(minilm).eval()
    inputs = minilm_encoder.tokenizer("There are large pleural effusions.", return_tensors="pt")
    with torch.no_grad():
        expected = model(**inputs).last_hidden_state[0]
    features, mask = minilm_encoder(["There are large pleural effusions."])
    assert torch.allclose(features[0, : mask[0].sum()], expected, atol=1e-5)


def test_its_digest_is_the_sha256_of_the_weights_file(tiny_run, tiny_encoder):
    import hashlib

    assert tiny_encoder.digest == hashlib.sha256((tiny_run[0] / "model.safetensors").read_bytes()).hexdigest()
    assert file_sha256(tiny_run[0] / "model.safetensors") == tiny_encoder.digest


def test_it_rejects_a_folder_without_config(tmp_path):
    with pytest.raises(TextError, match="no config.json"):
        ReportEncoder.load(tmp_path)


def test_it_rejects_a_folder_without_weights(tmp_path, tiny_run):
    (tmp_path / "config.json").write_text((tiny_run[0] / "config.json").read_text())
    with pytest.raises(TextError, match="no weights"):
        ReportEncoder.load(tmp_path)


def test_it_rejects_a_max_length_beyond_the_models_positions(tiny_run):
    positions = json.loads((tiny_run[0] / "config.json").read_text())["max_position_embeddings"]
    with pytest.raises(TextError, match=f"model's {positions} positions"):
        ReportEncoder.load(tiny_run[0], max_length=positions + 1)


def test_it_rejects_a_single_string_instead_of_a_list(tiny_encoder):
    with pytest.raises(TextError, match="list of reports"):
        tiny_encoder("There are large pleural effusions.")
