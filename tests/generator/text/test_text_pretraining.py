"""pretrain: masked-language modelling + paired-section prediction, saved as a Hugging Face folder."""

import dataclasses
import json
import math

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer

from generator.text.configs import CONFIGS
from generator.text.corpus import read_corpus
from generator.text.errors import TextError
from generator.text.pretraining import RECORD, pretrain
from tests.generator.text.conftest import phantom_reports, write_reports

QUICK = dataclasses.replace(CONFIGS["tiny"], batch_size=4, max_length=64, eval_every=1000)


@pytest.fixture
def phantom_folder(tmp_path):
    """40 phantom reports in case folders."""
    return write_reports(tmp_path / "reports", phantom_reports(40, seed=1))


@pytest.mark.slow
def test_a_tiny_run_tells_paired_from_swapped_impressions_on_held_out_reports(tiny_run):
    """200 held-out phantom reports, half with a swapped Impression: under chance (p = 0.5), 124 or more
    correct has binomial probability below 0.0003, so >= 0.62 means the [CLS] classifier learnt the pairing."""
    held_out = tiny_run[1].held_out
    assert held_out.examples == 200
    assert held_out.pairing_accuracy >= 0.62


def test_a_tiny_run_predicts_masked_tokens_far_better_than_a_uniform_guess(tiny_run):
    result = tiny_run[1]
    assert result.held_out.mlm_loss < 0.5 * math.log(result.vocab_size)


def test_the_output_folder_loads_with_automodel_and_autotokenizer(tiny_run):
    model = AutoModel.from_pretrained(tiny_run[0], local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(tiny_run[0], local_files_only=True)
    assert model.config.hidden_size == CONFIGS["tiny"].hidden
    assert model.config.vocab_size == len(tokenizer) == tiny_run[1].vocab_size


def test_the_output_folder_records_the_reports_settings_and_metrics(tiny_run):
    record = json.loads((tiny_run[0] / RECORD).read_text())
    assert len(record["reports"]) == 800 and record["reports"][0] == "case-0000/report.txt"
    assert record["config"]["name"] == "tiny" and record["seed"] == 0 and record["init"] is None
    assert record["result"]["held_out"]["pairing_accuracy"] == tiny_run[1].held_out.pairing_accuracy


def test_init_continues_pretraining_the_real_minilm_weights(tmp_path, phantom_folder, minilm, one_thread):
    lines = []
    result = pretrain(
        read_corpus(phantom_folder), tmp_path / "out", QUICK, init=minilm, steps=2, progress=False, log=lines.append
    )
    before = load_file(minilm / "model.safetensors")["embeddings.word_embeddings.weight"]
    after = load_file(tmp_path / "out" / "model.safetensors")["bert.embeddings.word_embeddings.weight"]
    assert result.vocab_size == 30522  # MiniLM's own tokenizer, not a new one
    assert not torch.equal(before, after)  # trained ...
    assert torch.nn.functional.cosine_similarity(before.flatten(), after.flatten(), dim=0) > 0.99  # ... from it
    assert "new pre-training heads: cls.predictions" in lines[0]


def test_the_same_seed_continues_an_init_to_the_same_weights(tmp_path, phantom_folder, tiny_run, one_thread):
    corpus = read_corpus(phantom_folder)
    for name in ("a", "b"):
        pretrain(
            corpus, tmp_path / name, QUICK, init=tiny_run[0], steps=3, seed=7, progress=False, log=lambda line: None
        )
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_it_prints_loss_mlm_loss_and_held_out_pairing_accuracy(tmp_path, phantom_folder, one_thread):
    lines = []
    pretrain(read_corpus(phantom_folder), tmp_path / "out", QUICK, steps=2, progress=False, log=lines.append)
    assert len(lines) == 1
    assert all(word in lines[0] for word in ("step 2: loss", "mlm", "pairing accuracy", "on 4 reports"))


def test_it_refuses_to_overwrite_a_folder_that_is_not_empty(tmp_path, phantom_folder):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(TextError, match="already exists and is not empty"):
        pretrain(read_corpus(phantom_folder), tmp_path / "out", QUICK, steps=1, progress=False)
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_it_rejects_an_init_folder_that_is_not_a_bert(tmp_path, phantom_folder):
    (tmp_path / "gpt").mkdir()
    (tmp_path / "gpt" / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(TextError, match="'gpt2' model; --init needs a BERT"):
        pretrain(read_corpus(phantom_folder), tmp_path / "out", QUICK, init=tmp_path / "gpt", steps=1)
    assert not (tmp_path / "out").exists()


def test_it_rejects_fewer_than_one_step(tmp_path, phantom_folder):
    with pytest.raises(TextError, match="--steps must be at least 1"):
        pretrain(read_corpus(phantom_folder), tmp_path / "out", QUICK, steps=0)
