"""The preview contact sheet: every served volume's three mid slices in the lung window, labelled by opaque name."""

from __future__ import annotations

import numpy as np
from PIL import Image

from contracts.windows import apply_window
from studies.cli import main
from studies.preview import contact_sheet, mid_slices


def test_it_turns_slices_to_radiological_display():
    """Marked voxels in RAS+ order land where a radiologist expects them on screen."""
    hu = np.zeros((5, 6, 7), dtype=np.int16)
    hu[4, 3, 3] = 1  # patient's far right, mid A-P, mid S-I
    hu[2, 5, 3] = 2  # most anterior
    hu[2, 3, 6] = 3  # most superior
    axial, coronal, sagittal = mid_slices(hu)
    assert axial.shape == (6, 5) and axial[2, 0] == 1, "axial: patient right on screen left"
    assert axial[0, 2] == 2, "axial: anterior at the top"
    assert coronal.shape == (7, 5) and coronal[0, 2] == 3, "coronal: superior at the top"
    assert sagittal.shape == (7, 6) and sagittal[3, 0] == 2 and sagittal[0, 2] == 3, (
        "sagittal: anterior left, superior up"
    )


def test_it_maps_the_lung_window_to_grey_levels():
    assert apply_window(np.array([-1350, -600, 150, 2000]), "lung").tolist() == [0, 128, 255, 255]


def test_it_draws_one_cell_per_volume_with_body_and_lungs_visible(bundle, tmp_path):
    sheet = np.asarray(Image.open(contact_sheet(bundle, tmp_path / "sheet.png")))
    assert sheet.ndim == 2 and sheet.shape[0] > 2 * 160 and sheet.shape[1] > 2 * 3 * 160
    assert (sheet > 200).any() and (sheet < 60).any()


def test_the_sheet_carries_no_text_beyond_the_pixels(bundle, tmp_path):
    image = Image.open(contact_sheet(bundle, tmp_path / "sheet.png"))
    assert not getattr(image, "text", {})
    assert not [
        word for word in (b"real", b"medsyn", b"ha-gan", b"md-02") if word in (tmp_path / "sheet.png").read_bytes()
    ]


def test_the_command_line_writes_the_sheet(bundle, tmp_path, capsys):
    assert main(["preview", str(bundle), "--out", str(tmp_path / "out" / "sheet.png")]) == 0
    assert (tmp_path / "out" / "sheet.png").is_file() and "wrote" in capsys.readouterr().out


def test_the_command_line_reports_a_missing_bundle(tmp_path, capsys):
    assert main(["preview", str(tmp_path / "nowhere"), "--out", str(tmp_path / "s.png")]) == 2
    assert "not a study bundle" in capsys.readouterr().err
