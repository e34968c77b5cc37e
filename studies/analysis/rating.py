"""Realism rating: each reader scores one scan at a time on a scale of 2–10 points; how do the sources compare,
and how far do the readers agree?"""

from __future__ import annotations

import math
import warnings
from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd
import pingouin
from scipy import stats

from studies.analysis.adjust import adjust_p
from studies.analysis.permutation import DRAWS, permutation_p

EXACT_LABELLINGS = 20_000
"""Enumerate every relabelling of the scans when there are at most this many, else draw seeded ones."""


def scan_means(ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per rated scan: volume, source, its mean score over the readers who rated it, and their number."""
    return ratings.groupby(["volume", "source"], sort=True)["score"].agg(mean="mean", readers="size").reset_index()


def labellings(
    labels: np.ndarray, draws: int, seed: int, exact_limit: int = EXACT_LABELLINGS
) -> tuple[np.ndarray, bool]:
    """(relabellings, exact): every distinct arrangement of the labels over the scans when there are at most
    exact_limit (the multinomial coefficient), else `draws` seeded uniform shuffles; each row is one labelling."""
    values, counts = np.unique(labels, return_counts=True)
    size = math.factorial(len(labels)) // math.prod(math.factorial(int(c)) for c in counts)
    if size > exact_limit:
        rng = np.random.default_rng(seed)
        return rng.permuted(np.tile(labels, (draws, 1)), axis=1), False
    arrangements = [np.full(len(labels), -1)]
    for value, count in zip(values[:-1], counts[:-1]):
        grown = []
        for arrangement in arrangements:
            free = np.flatnonzero(arrangement == -1)
            for chosen in combinations(free, int(count)):
                new = arrangement.copy()
                new[list(chosen)] = value
                grown.append(new)
        arrangements = grown
    result = np.stack(arrangements)
    result[result == -1] = values[-1]
    return result, True


def between_sources(means: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    r"""Between-source sum of squares :math:`\sum_j n_j (\bar m_j - \bar m)^2` of per-scan means, for each row of
    labels (..., N) with values 0..k−1; with the scans' values fixed it orders labellings as the one-way F does."""
    one_hot = labels[..., None] == np.arange(k)
    n = one_hot.sum(axis=-2)
    sums = (one_hot * means[:, None]).sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nansum(sums**2 / n, axis=-1) - means.sum() ** 2 / len(means)


def permutation_comparison(scans: pd.DataFrame, sources: list[str], draws: int = DRAWS, seed: int = 0) -> dict:
    r"""Do the sources differ? Source labels permuted across the rated scans, scans as the sample.

    The statistic is the between-source sum of squares of each scan's mean score over its readers; a relabelling
    moves a scan's whole column of scores, so it is the same for every reader (Good 2005, ch. 3). Exact over every
    distinct labelling when there are at most `EXACT_LABELLINGS`, else `draws` seeded ones with p = (b + 1)/(M + 1).
    Readers are held fixed: a reader's lasting taste for one source's look counts as a difference (for the claim with
    readers random too, see `crossed_f`). Pairs: the same test on the scans of two sources, statistic |difference of
    mean per-scan scores|.
    """
    codes = np.array([sources.index(s) for s in scans["source"]])
    means = scans["mean"].to_numpy(dtype=float)
    shuffled, exact = labellings(codes, draws, seed)
    observed = between_sources(means, codes, len(sources))
    p = float(permutation_p(observed, between_sources(means, shuffled, len(sources)), exact))
    pairs = []
    for a, b in combinations(range(len(sources)), 2):
        keep = np.isin(codes, (a, b))
        if keep.sum() < 2 or len(set(codes[keep])) < 2:
            continue
        pair_codes, pair_means = codes[keep], means[keep]
        relabelled, pair_exact = labellings(pair_codes, draws, seed)

        def gap(labels: np.ndarray) -> np.ndarray:
            """|mean of a's scans − mean of b's scans| for each labelling."""
            is_a = labels == a
            return np.abs((pair_means * is_a).sum(-1) / is_a.sum(-1) - (pair_means * ~is_a).sum(-1) / (~is_a).sum(-1))

        pairs.append(
            {
                "a": sources[a],
                "b": sources[b],
                "difference": float(pair_means[pair_codes == a].mean() - pair_means[pair_codes == b].mean()),
                "p": float(permutation_p(gap(pair_codes), gap(relabelled), pair_exact)),
                "exact": pair_exact,
                "permutations": int(len(relabelled)),
            }
        )
    return {
        "method": "permutation of source labels across the rated scans (per-scan mean score; readers held fixed)",
        "statistic": float(observed),
        "p": p,
        "exact": exact,
        "permutations": int(len(shuffled)),
        "mc_se": 0.0 if exact else math.sqrt(p * (1 - p) / draws),
        "scans": int(len(scans)),
        "pairwise": pairs,
    }


def crossed_f(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Quasi-F test that the J sources differ, readers and scans random; vectorised over leading axes.

    scores: (..., R, J, n), every reader rated the n scans of every source (scans nested in sources, readers crossed
    with both: the split-plot layout of multi-reader multi-case studies). With the mean squares of sources, readers ×
    sources, scans within sources and their residual,

    .. math::
        F' = \frac{MS_J}{D},\quad D = \max(MS_{RJ} + MS_{S(J)} - MS_{RS(J)},\ MS_{RJ},\ MS_{S(J)}),

    since E[MS_J] = σ²_e + n σ²_RJ + R σ²_S(J) + R n θ_J and E[MS_RJ + MS_S(J) − MS_RS(J)] = σ²_e + n σ²_RJ +
    R σ²_S(J) (Satterthwaite 1946; Winer 1971, §5.15; as `studies.analysis.crossed` for the crossed rankings).
    Denominator df by Satterthwaite's approximation (a lone mean square's own where it is the larger). Conservative
    where readers' preferences and scans do not vary (1.6–1.9 % of pure-noise null studies at α = 0.05), about α
    where they do, and unlike the permutation test it holds α when readers prefer a source
    (`python -m bench analysis-validity`). Returns (F, df1, df2, p); where D is 0, F is infinite and p 0, or F 0
    and p 1 without differences.
    """
    y = np.asarray(scores, dtype=float)
    n_readers, k, n = y.shape[-3:]
    m = y.mean(axis=(-3, -2, -1), keepdims=True)
    source = y.mean(axis=(-3, -1), keepdims=True)
    reader = y.mean(axis=(-2, -1), keepdims=True)
    reader_source = y.mean(axis=-1, keepdims=True)
    scan = y.mean(axis=-3, keepdims=True)
    df_j, df_rj, df_s = k - 1, (n_readers - 1) * (k - 1), k * (n - 1)
    df_rs = (n_readers - 1) * k * (n - 1)
    ms_j = n_readers * n * ((source - m) ** 2).sum(axis=(-3, -2, -1)) / df_j
    ms_rj = n * ((reader_source - reader - source + m) ** 2).sum(axis=(-3, -2, -1)) / df_rj
    ms_s = n_readers * ((scan - source) ** 2).sum(axis=(-3, -2, -1)) / df_s
    ms_rs = ((y - reader_source - scan + source) ** 2).sum(axis=(-3, -2, -1)) / df_rs
    combined = ms_rj + ms_s - ms_rs
    denominator = np.maximum(combined, np.maximum(ms_rj, ms_s))
    with np.errstate(invalid="ignore", divide="ignore"):
        satterthwaite = combined**2 / (ms_rj**2 / df_rj + ms_s**2 / df_s + ms_rs**2 / df_rs)
        df2 = np.where(
            denominator == combined, satterthwaite, np.where(denominator == ms_rj, float(df_rj), float(df_s))
        )
        f = np.where(denominator > 0, ms_j / np.where(denominator > 0, denominator, 1.0), np.where(ms_j > 0, np.inf, 0))
    p = np.where(denominator > 0, stats.f.sf(f, df_j, np.maximum(df2, 1.0)), np.where(ms_j > 0, 0.0, 1.0))
    return f, np.full_like(f, df_j), df2, p


def crossed_comparison(ratings: pd.DataFrame, sources: list[str]) -> dict:
    """`crossed_f` over the scans every reader rated, when that leaves the same number (at least 2) of scans for every
    source and at least 2 readers; otherwise the reason it could not be run."""
    matrix = ratings.pivot_table(index="reader", columns="volume", values="score", aggfunc="first")
    complete = matrix.loc[:, matrix.notna().all(axis=0)]
    source_of = ratings.drop_duplicates("volume").set_index("volume")["source"]
    per_source = {source: [v for v in complete.columns if source_of[v] == source] for source in sources}
    counts = {len(volumes) for volumes in per_source.values()}
    if len(complete) < 2 or len(counts) != 1 or min(counts) < 2:
        return {
            "skipped": "needs at least 2 readers who rated the same scans, and as many (at least 2) complete scans "
            f"of every source; found {len(complete)} readers and "
            + ", ".join(f"{source} {len(volumes)}" for source, volumes in per_source.items())
        }
    y = np.stack([complete[per_source[source]].to_numpy(dtype=float) for source in sources], axis=1)
    f, df1, df2, p = crossed_f(y)
    return {
        "method": "quasi-F, readers and scans random (split-plot ANOVA of the scores, Satterthwaite df)",
        "F": float(f),
        "df1": int(df1),
        "df2": float(df2),
        "p": float(p),
        "readers": int(y.shape[0]),
        "scans_per_source": int(y.shape[2]),
    }


def agreement(ratings: pd.DataFrame, scale: int) -> dict:
    """Krippendorff's ordinal alpha over every rating (missing cells allowed) and the two-way random ICC over the
    scans every reader rated (ICC(A,1), i.e. ICC2: one reader, absolute agreement; ICC(A,k) for the readers' mean)."""
    matrix = ratings.pivot_table(index="reader", columns="volume", values="score", aggfunc="first")
    result = {
        "krippendorff_alpha": None,
        "krippendorff_level": "ordinal",
        "icc": None,
        "icc_ci95": None,
        "icc_kind": "ICC(A,1): two-way random, absolute agreement, one reader (Shrout–Fleiss ICC2)",
        "icc_average": None,
        "icc_average_ci95": None,
        "icc_readers": int(len(matrix)),
        "icc_scans": 0,
        "icc_scans_left_out": int(matrix.shape[1]),
    }
    pairable = (matrix.notna().sum(axis=0) >= 2).sum()
    if len(matrix) >= 2 and pairable >= 1 and ratings["score"].nunique() > 1:
        alpha = krippendorff.alpha(
            reliability_data=matrix.to_numpy(dtype=float),
            level_of_measurement="ordinal",
            value_domain=list(range(1, scale + 1)),
        )
        result["krippendorff_alpha"] = None if np.isnan(alpha) else float(alpha)
    complete = matrix.loc[:, matrix.notna().all(axis=0)]
    result["icc_scans"] = int(complete.shape[1])
    result["icc_scans_left_out"] = int(matrix.shape[1] - complete.shape[1])
    if complete.shape[0] >= 2 and complete.shape[1] >= 3 and complete.to_numpy().std() > 0:
        long = complete.rename_axis(columns="volume").stack().rename("score").reset_index()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The inplace keyword", module="pingouin")
            table = pingouin.intraclass_corr(long, targets="volume", raters="reader", ratings="score")
        table = table.set_index("Type")
        for key, kind in (("icc", "ICC(A,1)"), ("icc_average", "ICC(A,k)")):
            result[key] = float(table.loc[kind, "ICC"])
            result[f"{key}_ci95"] = [float(v) for v in table.loc[kind, "CI95"]]
    return result


def rating_summary(
    ratings: pd.DataFrame, sources: list[str], adjust: str = "bonferroni", draws: int = DRAWS, seed: int = 0
) -> dict:
    """summary.json["rating"]: the scale, per-source mean, median, SD, n and score counts, the scan-level comparison
    with adjusted pairs, and the readers' agreement."""
    scale = int(ratings["scale"].iloc[0])
    by_source = {}
    for source in sources:
        scores = ratings.loc[ratings["source"] == source, "score"]
        if scores.empty:
            continue
        by_source[source] = {
            "n": int(len(scores)),
            "scans": int(ratings.loc[ratings["source"] == source, "volume"].nunique()),
            "mean": float(scores.mean()),
            "median": float(scores.median()),
            "sd": float(scores.std(ddof=1)) if len(scores) > 1 else None,
            "counts": {str(s): int((scores == s).sum()) for s in range(1, scale + 1)},
        }
    rated = [source for source in sources if source in by_source]
    comparison = None
    if len(rated) >= 2:
        comparison = permutation_comparison(scan_means(ratings), rated, draws, seed)
        adjusted = adjust_p(np.array([pair["p"] for pair in comparison["pairwise"]], dtype=float), adjust)
        for pair, value in zip(comparison["pairwise"], adjusted):
            pair["p_adjusted"] = float(value)
        comparison["adjustment"] = adjust
        comparison["crossed"] = crossed_comparison(ratings, rated)
    return {
        "scale": scale,
        "n_ratings": int(len(ratings)),
        "n_readers": int(ratings["reader"].nunique()),
        "n_volumes": int(ratings["volume"].nunique()),
        "by_source": by_source,
        "comparison": comparison,
        "agreement": agreement(ratings, scale),
    }
