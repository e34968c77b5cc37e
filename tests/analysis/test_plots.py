"""The figures are written as PNG to a path or to a file-like object (for the staff results page)."""

import io

from studies.analysis.plots import mean_ranks_plot, power_plot, rank_frequency_plot, recognition_plot
from studies.analysis.summary import analyze
from tests.analysis.conftest import make_pathology

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_plot_renders_a_png_into_a_file_like_object(rankings):
    summary = analyze(rankings, make_pathology())
    drawings = [
        lambda out: mean_ranks_plot(summary["ranking"], "real", out),
        lambda out: rank_frequency_plot(summary["ranking"], out),
        lambda out: recognition_plot(summary["pathology"], out),
        lambda out: power_plot({"Friedman": [0.2, 0.5, 0.9]}, [2, 3, 4], out),
    ]
    for draw in drawings:
        buffer = io.BytesIO()
        draw(buffer)
        assert buffer.getvalue().startswith(PNG)


def test_a_plot_can_be_written_to_a_path(rankings, tmp_path):
    mean_ranks_plot(analyze(rankings)["ranking"], None, tmp_path / "mean_ranks.png")
    assert (tmp_path / "mean_ranks.png").read_bytes().startswith(PNG)
