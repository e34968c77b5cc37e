"""One run over many cases: jobs on worker processes behind a progress bar, each ending as an outcome (made,
skipped or refused, with the reason), and the end-of-run table that counts them."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from tqdm import tqdm

from generator.data.cases import CaseError

Job = TypeVar("Job")
MADE, SKIPPED, REFUSED = "made", "skipped", "refused"


@dataclass(frozen=True)
class Outcome:
    """What became of one case: `status` made/skipped/refused, `reason` the short kind the table counts,
    `message` the full sentence naming the case or series (empty when made)."""

    case: str
    status: str
    reason: str = ""
    message: str = ""


def made(case: str, note: str = "") -> Outcome:
    """A case written (`note` such as "no report" is counted in the table beside it)."""
    return Outcome(case, MADE, note)


def skipped(case: str, reason: str, message: str = "") -> Outcome:
    """A case left alone on purpose (already done, or filtered out)."""
    return Outcome(case, SKIPPED, reason, message)


def run_jobs(
    work: Callable[[Job], Outcome], jobs: list[Job], name: Callable[[Job], str], workers: int, desc: str
) -> list[Outcome]:
    """work(job) for every job on `workers` processes (in this process when 1), behind a progress bar; a job that
    raises becomes a refused outcome naming `name(job)` and the reason, never the end of the run."""
    guarded = partial(_guarded, work)
    outcomes: list[Outcome] = []
    with tqdm(total=len(jobs), desc=desc, unit="case") as bar:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                outcomes.append(guarded(job, name(job)))
                bar.update()
            return outcomes
        try:
            with ProcessPoolExecutor(max_workers=min(workers, len(jobs), os.cpu_count() or 1)) as pool:
                for future in as_completed([pool.submit(guarded, job, name(job)) for job in jobs]):
                    outcomes.append(future.result())
                    bar.update()
        except BrokenProcessPool:
            raise CaseError("a worker process died (out of memory?); try fewer workers, e.g. --workers 1") from None
    return outcomes


def _guarded(work: Callable[[Job], Outcome], job: Job, label: str) -> Outcome:
    """Run one job; its CaseError (or any failure deep in a reader) becomes a refused outcome named `label`."""
    try:
        return work(job)
    except CaseError as exc:
        return Outcome(label, REFUSED, exc.reason, str(exc))
    except Exception as exc:  # a corrupt file fails deep inside pydicom, nibabel, gzip or zlib: refuse, never abort
        return Outcome(label, REFUSED, "unreadable file", f"{label}: cannot be read ({type(exc).__name__}: {exc})")


def report(outcomes: Iterable[Outcome], title: str, footer: str) -> int:
    """Print each refusal and deliberate skip to stderr, then the table (cases made, skipped and refused, by
    reason) and the footer (where the results are) to stdout; return 1 if any case was refused, else 0."""
    out, err = sys.stdout, sys.stderr
    outcomes = sorted(outcomes, key=lambda o: o.case)
    for o in outcomes:
        if o.message:
            print(f"{o.status}: {o.message}", file=err)
    counts = Counter((o.status, o.reason) for o in outcomes)
    rows = [(f"{status}{': ' + reason if reason else ''}", n) for (status, reason), n in sorted(counts.items())]
    rows.sort(key=lambda row: row[0].startswith((SKIPPED, REFUSED)))  # what was made (or measured) first
    width = max([len(title), len("total"), *(len(label) for label, _ in rows)])
    print(f"{title:<{width}}  cases", file=out)
    for label, n in rows:
        print(f"{label:<{width}}  {n:>5}", file=out)
    print(f"{'total':<{width}}  {len(outcomes):>5}", file=out)
    print(footer, file=out)
    return 1 if any(o.status == REFUSED for o in outcomes) else 0
