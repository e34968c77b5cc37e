"""One function over many volumes on worker processes, behind a progress bar: what build and audit share."""

from __future__ import annotations

import os
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Sequence, TypeVar

from tqdm import tqdm

from studies.errors import StudyError

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_volumes(
    function: Callable[[Item], Result], items: Sequence[Item], *, workers: int | None, desc: str, progress: bool
) -> list[Result]:
    """[function(item) for item in items] on `workers` processes (default: one per core, in this process when 1);
    the first error stops the rest and is raised; a worker that dies becomes a StudyError that says what to do."""
    workers = workers or min(os.cpu_count() or 1, max(len(items), 1))
    with tqdm(total=len(items), desc=desc, unit="volume", disable=not progress) as bar:
        if workers == 1:
            results = []
            for item in items:
                results.append(function(item))
                bar.update()
            return results
        try:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(function, item) for item in items]
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                    for future in done:
                        if future.exception() is not None:
                            pool.shutdown(wait=True, cancel_futures=True)
                            raise future.exception()
                        bar.update()
                return [future.result() for future in futures]
        except BrokenProcessPool:
            raise StudyError("a worker process died (out of memory?); try fewer workers, e.g. --workers 1") from None
