"""One function over many volumes on worker processes, behind a progress bar: what build and audit share."""

from __future__ import annotations

import os
import signal
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
    the first error, or an interruption (Ctrl-C, or SIGTERM turned into an exception), stops the workers at once
    and is raised; a worker that dies becomes a StudyError that says what to do."""
    workers = workers or min(os.cpu_count() or 1, max(len(items), 1))
    with tqdm(total=len(items), desc=desc, unit="volume", disable=not progress) as bar:
        if workers == 1:
            results = []
            for item in items:
                results.append(function(item))
                bar.update()
            return results
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_defaults)
        try:
            futures = [pool.submit(function, item) for item in items]
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    if future.exception() is not None:
                        raise future.exception()
                    bar.update()
            return [future.result() for future in futures]
        except BrokenProcessPool:
            raise StudyError("a worker process died (out of memory?); try fewer workers, e.g. --workers 1") from None
        except BaseException:
            _stop_workers(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _worker_defaults() -> None:
    """In each worker: the default SIGTERM action (die), not whatever handler the parent had installed."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's processes now instead of letting them finish their volumes (Python 3.14 has
    ProcessPoolExecutor.terminate_workers; before it, the processes are only reachable through `_processes`)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()
