"""map_volumes: results in the items' order on any number of workers, the first error raised, a dead worker
explained.
"""

import math
import os

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
