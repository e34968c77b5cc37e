"""`python -m generator pretrain-text`: arguments, summary and errors without tracebacks."""

import pytest

from generator.__main__ import main
from tests.generator.text.conftest import phantom_reports, write_reports


def test_its_help_says_which_report_files_it_reads(capsys):
    with pytest.raises(SystemExit):
        main(["pretrain-text", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "case folders with report.txt" in text and "loose .txt reports" in text and "--init" in text


def test_it_pretrains_and_prints_a_summary(tmp_path, capsys, one_thread):
    data = write_reports(tmp_path / "reports", phantom_reports(30, seed=2))
    status = main(
        [
            "pretrain-text",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "out"),
            "--config",
            "tiny",
            "--steps",
            "2",
            "--device",
            "cpu",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "30 reports with Findings and Impression" in out and "held-out pairing accuracy" in out
    assert (tmp_path / "out" / "model.safetensors").is_file() and (tmp_path / "out" / "tokenizer.json").is_file()


def test_a_missing_data_folder_is_an_error_message_with_status_2(tmp_path, capsys):
    status = main(["pretrain-text", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and "nowhere: not a folder" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_an_init_folder_without_config_is_an_error_message_with_status_2(tmp_path, capsys):
    data = write_reports(tmp_path / "reports", phantom_reports(12, seed=3))
    status = main(["pretrain-text", "--data", str(data), "--out", str(tmp_path / "out"), "--init", str(tmp_path)])
    assert status == 2 and "no config.json" in capsys.readouterr().err


def test_a_device_that_is_not_a_torch_device_is_an_error_message_with_status_2(tmp_path, capsys):
    status = main(["pretrain-text", "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--device", "gpu0"])
    assert status == 2 and "'gpu0' is not a torch device" in capsys.readouterr().err
