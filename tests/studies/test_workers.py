"""map_volumes: results in the items' order on any number of workers, the first error raised, a dead worker
explained.
"""

import math
import multiprocessing
import os
import signal
import time

import pytest

from studies.errors import StudyError
from studies.workers import map_volumes


@pytest.mark.parametrize("workers", [1, 2])
def test_results_come_back_in_the_order_of_the_items(workers):
    assert map_volumes(math.sqrt, [9.0, 4.0, 1.0, 16.0, 25.0], workers=workers, desc="t", progress=False) == [
        3,
        2,
        1,
        4,
        5,
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_the_first_error_is_raised(workers):
    with pytest.raises(ValueError, match="math domain error"):
        map_volumes(math.sqrt, [4.0, -1.0, 9.0], workers=workers, desc="t", progress=False)


def test_a_worker_that_dies_is_said_in_words():
    with pytest.raises(StudyError, match="worker process died"):
        map_volumes(os._exit, [3, 3], workers=2, desc="t", progress=False)


class Interrupted(Exception):
    pass


def _interrupt(signum, frame):
    raise Interrupted()


def test_an_interruption_stops_the_workers_at_once():
    """SIGALRM stands in for the build's SIGTERM handler: each worker would sleep 60 s, all are gone within 10."""
    previous = signal.signal(signal.SIGALRM, _interrupt)
    started = time.monotonic()
    try:
        signal.alarm(1)
        with pytest.raises(Interrupted):
            map_volumes(time.sleep, [60, 60, 60], workers=2, desc="t", progress=False)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 10 and multiprocessing.active_children() == []
