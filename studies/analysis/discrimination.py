"""Real or synthetic ("visual Turing test"): can readers tell generated scans from real ones, and how surely?

Each answer becomes a confidence-signed score, +confidence when the reader said synthetic and −confidence when real,
so one reader's answers trace an empirical ROC curve with synthetic as the positive class. A study AUC of 0.5 is what
a generator paper hopes for; not rejecting it does not show the scans indistinguishable, so the interval is what
says how close to chance the readers were.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from studies.analysis.recognition import accuracy

CHANCE = 0.5


def signed_scores(answers: pd.DataFrame) -> np.ndarray:
    """+confidence where the answer is synthetic, −confidence where it is real."""
    sign = np.where(answers["answer"].to_numpy() == "synthetic", 1.0, -1.0)
    return sign * answers["confidence"].to_numpy(dtype=float)


def empirical_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Mann–Whitney AUC: the share of (positive, negative) pairs the score orders rightly, ties counting one half;
    NaN without both classes."""
    if len(positive) == 0 or len(negative) == 0:
        return math.nan
    return float(_kernel(np.asarray(positive, float), np.asarray(negative, float)).mean())


def _kernel(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """ψ[i, j] = 1 if positive i scores above negative j, ½ if tied, 0 below."""
    difference = positive[:, None] - negative[None, :]
    return (difference > 0) + 0.5 * (difference == 0)


def reader_matrix(answers: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(scores, synthetic, readers, volumes): scores[r, v] the signed score of reader r on volume v (NaN: not
    answered), synthetic[v] the truth; readers and volumes sorted."""
    readers = sorted(answers["reader"].unique())
    volumes = sorted(answers["volume"].unique())
    scores = np.full((len(readers), len(volumes)), np.nan)
    scores[pd.Index(readers).get_indexer(answers["reader"]), pd.Index(volumes).get_indexer(answers["volume"])] = (
        signed_scores(answers)
    )
    truth = answers.drop_duplicates("volume").set_index("volume")["truth"].reindex(volumes)
    return scores, (truth == "synthetic").to_numpy(), readers, volumes


def jackknife_aucs(scores: np.ndarray, synthetic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(auc, leave_out): each reader's AUC (R,) and its AUC with each volume left out (R, V).

    Leaving out a volume the reader did not answer leaves the AUC as it is, so the jackknife runs over every volume
    of the study even when readers answered different ones; so does leaving out a reader's only scan of one class
    (the AUC without it is undefined).
    """
    n_readers, n_volumes = scores.shape
    auc = np.full(n_readers, np.nan)
    leave_out = np.full((n_readers, n_volumes), np.nan)
    for r in range(n_readers):
        seen = ~np.isnan(scores[r])
        pos, neg = np.flatnonzero(seen & synthetic), np.flatnonzero(seen & ~synthetic)
        if len(pos) == 0 or len(neg) == 0:
            continue
        psi = _kernel(scores[r, pos], scores[r, neg])
        total = psi.sum()
        auc[r] = total / psi.size
        leave_out[r] = auc[r]
        with np.errstate(invalid="ignore", divide="ignore"):
            leave_out[r, pos] = (total - psi.sum(axis=1)) / ((len(pos) - 1) * len(neg))
            leave_out[r, neg] = (total - psi.sum(axis=0)) / (len(pos) * (len(neg) - 1))
        leave_out[r, ~np.isfinite(leave_out[r])] = auc[r]
    return auc, leave_out


def or_test(auc: np.ndarray, leave_out: np.ndarray, case_df: float, chance: float = CHANCE) -> dict:
    r"""Obuchowski–Rockette test of the mean AUC of one modality against `chance`, readers and cases random.

    With R readers and V cases, jackknife covariances over cases
    :math:`\mathrm{Cov}(\hat\theta_r, \hat\theta_{r'}) = \frac{V-1}{V}\sum_v (\hat\theta_{r(v)} - \bar\theta_{r(\cdot)})
    (\hat\theta_{r'(v)} - \bar\theta_{r'(\cdot)})`, Cov₂ their mean over pairs of different readers and MS_R the
    readers' mean square, :math:`\widehat{\mathrm{Var}}(\bar\theta) = [MS_R + R\max(\mathrm{Cov}_2, 0)] / R`
    (Obuchowski & Rockette 1995; Hillis, Obuchowski, Schartz & Berbaum 2005). Denominator degrees of freedom:
    Hillis' (2007, Stat. Med. 26: 596–619; 2008, Acad. Radiol. 15: 647–661),
    :math:`\mathrm{ddf}_H = [MS(T{*}R) + \max(R(\mathrm{Cov}_2 - \mathrm{Cov}_3), 0)]^2 / \{[MS(T{*}R)]^2 /
    ((t-1)(R-1))\}` for t modalities; for one modality against a fixed value the treatment × reader mean square
    becomes the readers' MS_R on R − 1 df and Cov₂ − Cov₃ (covariances that a difference of modalities cancels)
    becomes Cov₂, :math:`\mathrm{ddf}_H = [MS_R + R\max(\mathrm{Cov}_2, 0)]^2 / (MS_R^2 / (R - 1))`, the
    single-treatment form of Hillis (2007) and RJafroc's `ciAvgRdrEachTrt`; R − 1 when Cov₂ ≤ 0. Also returned,
    df_satterthwaite and p_satterthwaite: the earlier Satterthwaite df over readers and cases, MS_R/R on R − 1 df
    and Cov₂ on `case_df` (min(synthetic, real scans) − 1), more cautious when few scans make Cov₂ uncertain
    (`python -m bench analysis-validity` gives both sizes). One reader: the jackknife variance of its AUC and a
    normal reference (cases random, the reader fixed). Returns auc, ci95, p (two-sided), t, df, se, cov2, ms_r,
    method, df_satterthwaite, p_satterthwaite.
    """
    keep = ~np.isnan(auc)
    auc, leave_out = auc[keep], leave_out[keep]
    n_readers, n_volumes = leave_out.shape
    mean = float(auc.mean())
    centred = leave_out - leave_out.mean(axis=1, keepdims=True)
    covariance = (n_volumes - 1) / n_volumes * centred @ centred.T
    if n_readers == 1:
        variance, df, cov2, ms_r = float(covariance[0, 0]), math.inf, None, None
        satterthwaite = math.inf
        method = "one reader: jackknife variance over volumes, normal reference (the reader fixed)"
    else:
        cov2 = float(covariance[~np.eye(n_readers, dtype=bool)].mean())
        ms_r = float(auc.var(ddof=1))
        denominator = ms_r + n_readers * max(cov2, 0.0)
        variance = denominator / n_readers
        df = hillis_ddf(ms_r, cov2, n_readers)
        parts = (ms_r / n_readers) ** 2 / (n_readers - 1) + max(cov2, 0.0) ** 2 / max(case_df, 1.0)
        satterthwaite = variance**2 / parts if parts > 0 else math.inf
        method = "Obuchowski–Rockette, jackknife covariances, Hillis (2007) df (readers and volumes random)"
    se = math.sqrt(max(variance, 0.0))
    t, p, half = _t_test(mean - chance, se, df)
    p_satterthwaite = _t_test(mean - chance, se, satterthwaite)[1]
    return {
        "auc": mean,
        "ci95": [max(0.0, mean - half), min(1.0, mean + half)],
        "p": p,
        "t": t if math.isfinite(t) else None,
        "df": df if math.isfinite(df) else None,
        "se": se,
        "cov2": cov2,
        "ms_r": ms_r,
        "method": method,
        "df_satterthwaite": satterthwaite if math.isfinite(satterthwaite) else None,
        "p_satterthwaite": p_satterthwaite,
    }


def hillis_ddf(ms_r: float, cov2: float, readers: int) -> float:
    """Hillis' (2007) denominator df of one modality's OR test: [MS_R + R max(Cov₂, 0)]² / (MS_R² / (R − 1));
    infinite when the readers agree exactly (MS_R = 0)."""
    if ms_r <= 0:
        return math.inf
    return (ms_r + readers * max(cov2, 0.0)) ** 2 / (ms_r**2 / (readers - 1))


def _t_test(difference: float, se: float, df: float) -> tuple[float, float, float]:
    """(t, two-sided p, half-width of the 95 % interval) on df (normal when infinite); se 0 gives t ±∞ or 0."""
    if se <= 0:
        return (math.inf if difference else 0.0), (0.0 if difference else 1.0), 0.0
    reference = stats.norm if math.isinf(df) else stats.t(df)
    t = difference / se
    return t, float(2 * reference.sf(abs(t))), float(reference.ppf(0.975)) * se


def roc_points(scores: np.ndarray, synthetic: np.ndarray) -> dict[str, list[float]]:
    """The empirical ROC curve of signed scores: false- and true-positive rates at every threshold, from (0, 0)."""
    thresholds = np.unique(scores)[::-1]
    pos, neg = scores[synthetic], scores[~synthetic]
    fpr = [0.0] + [float((neg >= c).mean()) if len(neg) else 0.0 for c in thresholds]
    tpr = [0.0] + [float((pos >= c).mean()) if len(pos) else 0.0 for c in thresholds]
    return {"fpr": fpr, "tpr": tpr}


def study_auc(answers: pd.DataFrame) -> tuple[np.ndarray, list[str], dict | None]:
    """(each reader's AUC, the readers, the OR test of their mean), the test None where no reader saw both classes."""
    scores, synthetic, readers, _ = reader_matrix(answers)
    auc, leave_out = jackknife_aucs(scores, synthetic)
    return auc, readers, (or_test(auc, leave_out, case_df(synthetic)) if (~np.isnan(auc)).any() else None)


def case_df(synthetic: np.ndarray) -> float:
    """Degrees of freedom of the case covariance: the smaller class's scans less one (at least 1)."""
    return float(max(1, min(synthetic.sum(), (~synthetic).sum()) - 1))


def discrimination_summary(answers: pd.DataFrame, sources: list[str], seed: int = 0) -> dict:
    """summary.json["discrimination"]: accuracy (two-way cluster-robust over readers and volumes: accuracy_ci95; the
    bootstrap interval as accuracy_ci95_bootstrap, Wilson's as accuracy_ci95_wilson) overall, per truth (synthetic:
    the sensitivity of calling a scan synthetic; real: the specificity), per reader and per source; each reader's
    AUC, the study AUC with its OR interval and p against 0.5; per synthetic source, its AUC against the real scans;
    the ROC points of each reader and of all answers pooled."""
    overall = accuracy(answers, seed)
    auc, readers, test = study_auc(answers)
    scores, synthetic, _, _ = reader_matrix(answers)
    by_reader = []
    for index, (reader, rows) in enumerate(answers.groupby("reader", sort=True)):
        by_reader.append(
            {
                "reader": str(reader),
                "n": int(len(rows)),
                "accuracy": float(rows["correct"].mean()),
                "auc": None if np.isnan(auc[index]) else float(auc[index]),
            }
        )
    real = answers[answers["truth"] == "real"]
    by_source = []
    for source in sources:
        rows = answers[answers["source"] == source]
        if rows.empty:
            continue
        truth = str(rows["truth"].iloc[0])
        against = study_auc(pd.concat([rows, real])) if truth == "synthetic" and len(real) else None
        result = accuracy(rows, seed)
        by_source.append(
            {
                "source": source,
                "truth": truth,
                "n": result["n"],
                "accuracy": result["accuracy"],
                "accuracy_ci95": result["ci95_two_way"],
                "accuracy_ci95_bootstrap": result["ci95_clustered"],
                "auc_vs_real": (against[2] or {}).get("auc") if against else None,
                "auc_vs_real_ci95": (against[2] or {}).get("ci95") if against else None,
            }
        )
    pooled = signed_scores(answers)
    return {
        "n_answers": overall["n"],
        "n_readers": int(answers["reader"].nunique()),
        "n_volumes": int(answers["volume"].nunique()),
        "correct": overall["correct"],
        "accuracy": overall["accuracy"],
        "accuracy_ci95": overall["ci95_two_way"],
        "accuracy_ci95_wilson": overall["ci95"],
        "accuracy_ci95_bootstrap": overall["ci95_clustered"],
        "accuracy_method": "two-way (reader × volume) cluster-robust variance, Satterthwaite df, as a design effect "
        "on Wilson's interval (Korn & Graubard)",
        "by_truth": {truth: accuracy(rows, seed) for truth, rows in answers.groupby("truth", sort=True)},
        "auc": test["auc"] if test else None,
        "auc_ci95": test["ci95"] if test else None,
        "auc_p": test["p"] if test else None,
        "auc_test": test,
        "by_reader": by_reader,
        "by_source": by_source,
        "roc": {
            "readers": {
                reader: roc_points(scores[r][~np.isnan(scores[r])], synthetic[~np.isnan(scores[r])])
                for r, reader in enumerate(readers)
            },
            "pooled": roc_points(pooled, (answers["truth"] == "synthetic").to_numpy()),
        },
    }
