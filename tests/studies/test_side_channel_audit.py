"""The side-channel comparisons and the source guess, on hand-made values with independently computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from studies.appearance import value_counts
from studies.channels import Channel, Volume, channel_failures, lattice, padding_value, parity_failures
from studies.guessing import guess_sources

VOLUMES = {
    name: Volume(name, f"id-{name}", source)
    for name, source in (("a", "real"), ("b", "real"), ("c", "medsyn"), ("d", "medsyn"))
}
SETS = [("set-1", ["a", "c"]), ("set-2", ["b", "d"])]


def test_the_lattice_step_is_the_gcd_of_the_values_present_leaving_out_clip_bounds():
    hu = np.array([-1024, -1000, -994, -988, 3071, 20], dtype=np.int16)
    assert lattice(value_counts(hu), [-1024, 3071])[0] == 6  # gcd(6, 6, 1008)
    assert lattice(value_counts(hu), [])[0] == 3  # with 24 = -1000 - -1024 and 3051 = 3071 - 20


def test_parity_counts_odd_voxels_apart_from_the_excluded_values():
    hu = np.array([-1024, -1024, 3, 5, 4, -7, 3071], dtype=np.int16)
    assert lattice(value_counts(hu), [-1024, 3071]) == (1, 3, 4)


def test_the_padding_value_is_the_value_of_most_of_the_outer_shell():
    hu = np.random.default_rng(0).integers(-900, 900, (8, 8, 8)).astype(np.int16)
    assert padding_value(hu) is None
    hu[0], hu[-1], hu[:, 0], hu[:, -1] = -1024, -1024, -1024, -1024
    assert padding_value(hu) == -1024


def test_a_channel_with_one_value_passes_and_a_wrong_one_fails_once():
    assert channel_failures(Channel("size", dict.fromkeys("abcd", 10)), VOLUMES, SETS) == []
    [failure] = channel_failures(Channel("step", dict.fromkeys("abcd", 2), expected=1), VOLUMES, SETS)
    assert failure == "step: every volume has 2, expected 1"


def test_a_channel_that_separates_two_sources_names_the_pair_the_values_the_volumes_and_the_sets():
    [failure] = channel_failures(Channel("size", {"a": 10, "b": 10, "c": 12, "d": 10}), VOLUMES, SETS)
    assert failure == (
        "size separates sources 'medsyn' and 'real': 'medsyn': 12 (id-c), 10 (id-d); 'real': 10 (id-a, id-b); "
        "side by side in ranking set(s) set-1"
    )


def test_a_channel_that_varies_but_not_by_source_still_fails():
    [failure] = channel_failures(Channel("size", {"a": 10, "b": 12, "c": 12, "d": 10}), VOLUMES, SETS)
    assert failure.startswith("size differs between volumes (though every source has the same values)")


def test_volumes_where_a_channel_cannot_be_measured_are_left_out():
    assert channel_failures(Channel("padding", {"a": -1024, "b": None, "c": None, "d": -1024}), VOLUMES, SETS) == []


def test_parity_fails_only_beyond_the_tolerance():
    near = {"a": (50, 100), "b": (48, 100), "c": (46, 100), "d": (47, 100)}  # 49 % vs 46.5 %
    assert parity_failures(near, VOLUMES) == []
    far = {**near, "c": (30, 100), "d": (34, 100)}  # 49 % vs 32 %
    [failure] = parity_failures(far, VOLUMES)
    assert "'medsyn' and 'real': 32.0 % vs 49.0 %" in failure and "id-c 30 %" in failure


SOURCES = {"a": "real", "b": "real", "c": "medsyn", "d": "medsyn"}


def test_the_guess_is_at_chance_when_every_side_channel_is_constant():
    guess = guess_sources({name: {"size": 10, "header": "x"} for name in SOURCES}, SOURCES)
    assert guess.accuracy == guess.chance == 0.5


def test_the_guess_with_three_sources_and_constant_channels_is_one_third():
    sources = {**SOURCES, "e": "ha-gan", "f": "ha-gan"}
    assert guess_sources({name: {"size": 1} for name in sources}, sources).accuracy == pytest.approx(1 / 3)


def test_the_guess_is_leave_one_out_nearest_centroid():
    """Sizes 0, 1 (real) and 3, 10 (medsyn): left out, 0, 1 and 10 go to their own centroid; 3 is nearer 0.5."""
    guess = guess_sources({"a": {"size": 0}, "b": {"size": 1}, "c": {"size": 3}, "d": {"size": 10}}, SOURCES)
    assert guess.correct == 3 and guess.accuracy == 0.75


def test_a_header_digest_that_follows_the_source_gives_every_volume_away():
    features = {"a": {"header": "x"}, "b": {"header": "x"}, "c": {"header": "y"}, "d": {"header": "y"}}
    assert guess_sources(features, SOURCES).accuracy == 1.0


def test_a_source_with_one_volume_is_a_candidate_but_not_scored():
    sources = {"a": "real", "b": "real", "c": "medsyn"}
    guess = guess_sources({name: {"size": 1} for name in sources}, sources)
    assert guess.volumes == 2 and guess.correct == 1.0  # each real volume ties between the two centroids


def test_there_is_no_guess_with_one_source():
    assert guess_sources({"a": {"size": 1}, "b": {"size": 2}}, {"a": "real", "b": "real"}) is None


def test_a_channel_measured_on_some_volumes_only_counts_where_it_was_measured():
    features = {"a": {"padding": -1024}, "b": {"padding": None}, "c": {"padding": None}, "d": {"padding": -1024}}
    assert guess_sources(features, SOURCES).accuracy == 0.5
