"""Side channels: what a served file exposes besides its picture, and the pairwise check that none tells sources apart.

An exact channel (file name, gzip or zstd stream header, NIfTI header bytes and extensions, byte length per
content coding, file time and permissions, value lattice step, padding value) must take one value across the
whole study. Where it does not, every pair of sources whose volumes take different values fails, naming the
channel, the values with the volumes that have them, and the ranking sets where the two sit side by side. The
share of odd values (parity) is a measured proportion: two sources fail when theirs differ by more than
PARITY_TOLERANCE.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Callable, Hashable, Mapping, Sequence

import numpy as np

from studies.appearance import INT16_OFFSET

PARITY_TOLERANCE = 0.05  # largest difference between two sources' shares of odd values
PADDING_SHARE = 0.5  # a value held by at least this share of the outermost voxel shell is the padding value
LISTED_VOLUMES = 6  # volumes named per value in a failure; more are counted


@dataclass(frozen=True)
class Volume:
    """How failures name a served volume: the researcher's id and source; `name` is the opaque key."""

    name: str
    id: str
    source: str


@dataclass(frozen=True)
class Channel:
    """One exact side channel: its value per volume name (None: not measurable there), how to say a value in words,
    and the value it must have (None: any, as long as it is the same for every volume)."""

    name: str
    values: Mapping[str, Hashable]
    describe: Callable[[Hashable], str] = str
    expected: Hashable = None


def lattice(counts: np.ndarray, excluded: Sequence[int]) -> tuple[int | None, int, int]:
    """(step, odd voxels, counted voxels) of an int16 volume's value counts, leaving out `excluded` values (clip
    bounds, padding), which a clip or a pad sets regardless of the source's lattice; step is the greatest common
    divisor of the differences between values present (None with fewer than two)."""
    kept = counts.copy()
    kept[[value + INT16_OFFSET for value in excluded]] = 0
    present = np.flatnonzero(kept)
    step = int(np.gcd.reduce(np.diff(present))) if present.size >= 2 else None
    return step, int(kept[1::2].sum()), int(kept.sum())  # INT16_OFFSET is even: odd bins hold odd values


def padding_value(hu: np.ndarray) -> int | None:
    """The value outside the field of view: the one value held by at least PADDING_SHARE of the volume's outermost
    voxel shell, or None when the shell is the volume's own varied data (no padding)."""
    shell = np.concatenate([np.moveaxis(hu, axis, 0)[index].ravel() for axis in range(3) for index in (0, -1)])
    values, counts = np.unique(shell, return_counts=True)
    top = int(np.argmax(counts))
    return int(values[top]) if counts[top] >= PADDING_SHARE * shell.size else None


def channel_failures(
    channel: Channel, volumes: Mapping[str, Volume], sets: Sequence[tuple[str, Sequence[str]]]
) -> list[str]:
    """The failures of one exact channel: one per pair of sources it separates (see the module docstring)."""
    values = {name: value for name, value in channel.values.items() if value is not None}
    distinct = set(values.values())
    if len(distinct) == 1:
        [value] = distinct
        if channel.expected is None or value == channel.expected:
            return []
        return [
            f"{channel.name}: every volume has {channel.describe(value)}, expected {channel.describe(channel.expected)}"
        ]
    if not distinct:
        return []
    failures = []
    labels = sorted({volumes[name].source for name in values})
    for first, second in combinations(labels, 2):
        ours = {values[n] for n in values if volumes[n].source == first}
        theirs = {values[n] for n in values if volumes[n].source == second}
        if ours == theirs:
            continue
        side_by_side = [
            set_id
            for set_id, names in sets
            if len({values[n] for n in names if n in values and volumes[n].source in (first, second)}) > 1
            and {volumes[n].source for n in names if n in values} >= {first, second}
        ]
        where = f"; side by side in ranking set(s) {', '.join(side_by_side)}" if side_by_side else ""
        failures.append(
            f"{channel.name} separates sources {first!r} and {second!r}: "
            f"{_grouped(channel, values, volumes, first)}; {_grouped(channel, values, volumes, second)}{where}"
        )
    if not failures:
        failures.append(
            f"{channel.name} differs between volumes (though every source has the same values): "
            + "; ".join(_grouped(channel, values, volumes, source) for source in labels)
        )
    return failures


def parity_failures(odd: Mapping[str, tuple[int, int]], volumes: Mapping[str, Volume]) -> list[str]:
    """Pairs of sources whose pooled shares of odd values differ by more than PARITY_TOLERANCE (a rounding or
    scaling that favours even or odd HU, which the viewer's HU read-out shows)."""
    pooled: dict[str, list[int]] = {}
    for name, (count, total) in odd.items():
        tally = pooled.setdefault(volumes[name].source, [0, 0])
        tally[0] += count
        tally[1] += total
    shares = {source: count / total for source, (count, total) in pooled.items() if total}
    failures = []
    for first, second in combinations(sorted(shares), 2):
        if abs(shares[first] - shares[second]) > PARITY_TOLERANCE:
            listed = "; ".join(
                f"{source!r}: "
                + ", ".join(
                    f"{volumes[n].id} {100 * c / t:.0f} %"
                    for n, (c, t) in sorted(odd.items(), key=lambda item: volumes[item[0]].id)
                    if volumes[n].source == source and t
                )
                for source in (first, second)
            )
            failures.append(
                f"value parity separates sources {first!r} and {second!r}: {100 * shares[first]:.1f} % vs "
                f"{100 * shares[second]:.1f} % of voxels hold odd HU values (tolerance {100 * PARITY_TOLERANCE:.0f} "
                f"points; clip bounds and padding left out): {listed}"
            )
    return failures


def _grouped(channel: Channel, values: Mapping[str, Hashable], volumes: Mapping[str, Volume], source: str) -> str:
    """`'source': value (id, id, ...), other value (id, ...)` for the volumes of one source."""
    groups: dict[Hashable, list[str]] = {}
    for name in sorted(values, key=lambda n: volumes[n].id):
        if volumes[name].source == source:
            groups.setdefault(values[name], []).append(volumes[name].id)
    parts = []
    for value, ids in sorted(groups.items(), key=lambda item: item[1][0]):
        shown = ", ".join(ids[:LISTED_VOLUMES]) + (
            f" and {len(ids) - LISTED_VOLUMES} more" if len(ids) > LISTED_VOLUMES else ""
        )
        parts.append(f"{channel.describe(value)} ({shown})")
    return f"{source!r}: " + ", ".join(parts)
