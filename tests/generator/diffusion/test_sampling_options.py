"""Command-line inputs of `sample`: report files and fixed volumes."""

import numpy as np
import pytest
import torch

from generator.model_commands import CommandError, _read_fixed, _read_reports
from generator.precision import native_bf16
from generator.sampling import SamplingError, autocast, encode_fixed, sampling_precision


def test_a_reports_file_is_split_at_lines_of_three_dashes(tmp_path):
    path = tmp_path / "reports.txt"
    path.write_text("FINDINGS: Effusion.\n\nIMPRESSION: Effusion.\n---\nFINDINGS: Clear.\nIMPRESSION: Normal.\n---\n")
    assert _read_reports(path) == [
        "FINDINGS: Effusion.\n\nIMPRESSION: Effusion.",
        "FINDINGS: Clear.\nIMPRESSION: Normal.",
    ]


def test_an_empty_reports_file_is_refused(tmp_path):
    (tmp_path / "r.txt").write_text("\n---\n")
    with pytest.raises(CommandError, match="no reports"):
        _read_reports(tmp_path / "r.txt")


def test_a_fix_option_must_name_a_known_channel(tmp_path):
    with pytest.raises(CommandError, match="CHANNEL one of ct, lobes, airway, vessels"):
        _read_fixed(f"heart={tmp_path / 'h.nii.gz'}")


def test_fixed_volumes_are_encoded_in_model_space_with_a_channel_mask():
    lobes = np.zeros((4, 4, 4), np.uint8)
    lobes[0] = 5
    known, mask = encode_fixed({"lobes": lobes}, (4, 4, 4))
    assert mask.tolist() == [False, True, False, False]
    assert torch.allclose(known[0, 1, 0], torch.full((4, 4), 1.0)) and torch.all(known[0, 1, 1:] == -1.0)


def test_fixing_an_unknown_channel_is_refused():
    with pytest.raises(SamplingError, match="cannot fix"):
        encode_fixed({"heart": np.zeros((4, 4, 4))}, (4, 4, 4))


def test_sampling_on_a_cpu_runs_in_bf16_only_when_asked_and_native_there(monkeypatch):
    cpu = torch.device("cpu")
    for native, dtype in ((False, None), (True, torch.bfloat16)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda native=native: native, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
        assert native_bf16(cpu) is native
        assert sampling_precision(cpu) is None and sampling_precision(cpu, cpu_bf16=True) is dtype


def test_the_autocast_wrapper_runs_the_network_in_bf16_and_returns_fp32():
    seen = []

    def net(x, t, **extra):
        y = torch.nn.functional.linear(x, torch.eye(x.shape[-1]))
        seen.append(y.dtype)
        return y

    out = autocast(net, torch.bfloat16)(torch.randn(2, 8), torch.zeros(2))
    assert seen == [torch.bfloat16] and out.dtype == torch.float32
    assert autocast(net, None) is net
