"""Pixel differences between sources, compared pairwise: what warns, and volumes that show nothing to judge."""

from __future__ import annotations

import numpy as np

from studies.appearance import Appearance, edge_sharpness, source_warnings, unusable, value_counts

BASE = {"noise_hu": 20.0, "hu_min": -1024.0, "hu_max": 1500.0}


def looks(**metrics: float) -> Appearance:
    return Appearance({**BASE, **metrics}, np.bincount([1000, 1100], minlength=4096).astype(float))


def test_two_sources_told_apart_warn_even_when_a_third_straddles_them():
    """Pooled against all others neither real nor medsyn stands out; side by side they do."""
    appearances = {
        "a": looks(noise_hu=20),
        "b": looks(noise_hu=21),
        "c": looks(noise_hu=28),
        "d": looks(noise_hu=29),
        "e": looks(noise_hu=5),
        "f": looks(noise_hu=50),
    }
    sources = {"a": "real", "b": "real", "c": "medsyn", "d": "medsyn", "e": "ha-gan", "f": "ha-gan"}
    [warning] = source_warnings(appearances, sources)
    assert warning.startswith("noise level") and "every volume of source 'medsyn' is above every volume of 'real'" in (
        warning
    )


def test_a_source_ordered_the_same_way_in_every_set_warns_though_the_ranges_overlap():
    noise = {"a": 10, "b": 16, "c": 30, "d": 36, "e": 20, "f": 26}
    sources = {"a": "real", "b": "medsyn", "c": "real", "d": "medsyn", "e": "real", "f": "medsyn"}
    sets = [("s1", ["a", "b"]), ("s2", ["c", "d"]), ("s3", ["e", "f"])]
    appearances = {name: looks(noise_hu=value) for name, value in noise.items()}
    assert source_warnings(appearances, sources) == []
    [warning] = source_warnings(appearances, sources, sets)
    assert "source 'medsyn' is above 'real' in every one of the 3 ranking sets" in warning


def test_a_set_repeating_the_same_volumes_counts_once():
    appearances = {"a": looks(noise_hu=10), "b": looks(noise_hu=30)}
    sets = [(f"s{i}", ["a", "b"]) for i in range(4)]
    assert source_warnings(appearances, {"a": "real", "b": "medsyn"}, sets) == []


def test_a_clipped_value_range_warns_and_suggests_a_common_clip():
    appearances = {"a": looks(hu_max=3071), "b": looks(hu_max=2900), "c": looks(hu_max=600), "d": looks(hu_max=600)}
    warnings = source_warnings(appearances, {"a": "real", "b": "real", "c": "medsyn", "d": "medsyn"})
    assert warnings[0].startswith("highest value (value range): every volume of source 'medsyn' is below")
    assert "set `clip = [-1024, 600]` under [study]" in warnings[1] and len(warnings) == 2


def test_a_shifted_histogram_warns_for_the_pair():
    shifted = Appearance(BASE, np.bincount([1080, 1180], minlength=4096).astype(float))
    appearances = {"a": looks(), "b": looks(), "c": shifted, "d": shifted}
    [warning] = source_warnings(appearances, {"a": "real", "b": "real", "c": "medsyn", "d": "medsyn"})
    assert warning.startswith("intensity histogram: sources 'medsyn' and 'real' differ by 80 HU")


def chest_like() -> np.ndarray:
    hu = np.full((20, 20, 20), -1000, dtype=np.int16)
    hu[4:16, 4:16] = 40
    hu[6:9, 6:14] = -850
    return hu + np.random.default_rng(0).integers(-10, 10, hu.shape).astype(np.int16)


def test_a_volume_like_a_ct_shows_something_to_judge():
    assert unusable(value_counts(chest_like()), (-1024, 3071)) == []


def test_a_constant_volume_is_nearly_constant():
    [problem] = unusable(value_counts(np.full((10, 10, 10), 42, dtype=np.int16)), (-1024, 3071))
    assert problem.startswith("nearly constant: 98 % of voxels lie between 42 and 42 HU")


def test_hu_data_declared_unit_is_mostly_at_the_upper_bound():
    stretched = np.clip((chest_like().astype(np.float64) + 1) * 812 - 1024, -1024, 3071).astype(np.int16)
    [problem] = unusable(value_counts(stretched), (-1024, 3071))
    assert problem.startswith("mostly at the clip bound: 30 % of voxels at 3071 HU")  # 12 x 12 x 20 body - lungs


def test_a_volume_of_air_is_mostly_air():
    hu = np.full((20, 20, 20), -1024, dtype=np.int16)
    hu[:1] = 40
    hu[1:2] = -990
    [problem] = unusable(value_counts(hu), (-1024, 3071))
    assert problem.startswith("mostly air: 95 % of voxels at or below -950 HU")


def test_edge_sharpness_is_the_mean_step_across_the_body_boundary():
    sharp = np.full((6, 4, 4), -1000, dtype=np.int16)
    sharp[3:] = 40
    soft = sharp.copy()
    soft[3] = -300  # one voxel of partial volume: the crossing is now -1000 to -300
    assert edge_sharpness(sharp) == 1040.0 and edge_sharpness(soft) == 700.0
