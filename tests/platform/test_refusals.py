"""Every answer the platform must refuse, with a clear message and no change (the issue's 'Blinding and access'
list).
"""

import json

import pytest
from django.test import Client

from surveys.models import AnswerChange, RankingAnswer, RecognitionAnswer
from surveys.views.answers import MAX_BODY_BYTES
from tests.platform.conftest import answer_everything, post_answer, start, task_payload

RANKING = 2  # position of the first ranking task in the test plan


@pytest.fixture
def started(client, alice):
    start(client, alice)
    return alice


@pytest.fixture
def at_ranking(client, started):
    """Alice has answered the recognition tasks before the first ranking task."""
    for position in range(RANKING):
        post_answer(client, started, **task_payload(started, position), option="Cardiomegaly")
    return started


def _no_ranks_stored():
    assert not RankingAnswer.objects.exclude(ranks={}).exists()
    assert not AnswerChange.objects.filter(task__startswith="ranking").exists()


def _ranks(invited, values):
    return dict(zip(invited.reader.plan[RANKING]["volumes"], values))


def _refused(response, status, words):
    assert response.status_code == status, response.content
    assert words in response.json()["error"]


def _nothing_stored():
    assert not RankingAnswer.objects.exclude(ranks={}).exists()
    assert not RecognitionAnswer.objects.exclude(option="").exists()
    assert not AnswerChange.objects.exists()


def test_it_refuses_ranks_that_repeat_a_rank(client, at_ranking):
    response = post_answer(
        client, at_ranking, **task_payload(at_ranking, RANKING), ranks=_ranks(at_ranking, [1, 1, 2, 3])
    )
    _refused(response, 400, "each of 1 to 4 exactly once")
    _no_ranks_stored()


def test_it_refuses_ranks_outside_one_to_k(client, at_ranking):
    response = post_answer(
        client, at_ranking, **task_payload(at_ranking, RANKING), ranks=_ranks(at_ranking, [1, 2, 3, 5])
    )
    _refused(response, 400, "each of 1 to 4 exactly once")
    _no_ranks_stored()


def test_it_refuses_ranks_that_leave_out_a_scan(client, at_ranking):
    response = post_answer(client, at_ranking, **task_payload(at_ranking, RANKING), ranks=_ranks(at_ranking, [1, 2, 3]))
    _refused(response, 400, "Rank every scan of this set")
    _no_ranks_stored()


def test_it_refuses_ranks_that_are_not_whole_numbers(client, at_ranking):
    response = post_answer(
        client, at_ranking, **task_payload(at_ranking, RANKING), ranks=_ranks(at_ranking, [1, 2, 3, "4"])
    )
    _refused(response, 400, "exactly once")
    _no_ranks_stored()


def test_it_refuses_an_option_that_does_not_exist(client, started):
    response = post_answer(client, started, **task_payload(started, 0), option="Pneumothorax")
    _refused(response, 400, "option does not exist")
    _nothing_stored()


def test_it_refuses_an_answer_for_a_volume_outside_the_readers_plan(client, started):
    response = post_answer(client, started, position=0, kind="recognition", volume="0" * 24, option="Cardiomegaly")
    _refused(response, 400, "not part of your study")
    _nothing_stored()


def test_it_refuses_an_answer_for_a_task_position_beyond_the_plan(client, started):
    response = post_answer(
        client, started, position=99, kind="recognition", volume=started.reader.plan[0]["volume"], option="Cardiomegaly"
    )
    _refused(response, 400, "not part of your study")
    _nothing_stored()


def test_it_refuses_ranks_sent_for_a_recognition_task(client, started):
    payload = task_payload(started, RANKING) | {"position": 0}
    response = post_answer(client, started, **payload, ranks=_ranks(started, [1, 2, 3, 4]))
    _refused(response, 400, "not part of your study")
    _nothing_stored()


def test_it_refuses_a_replayed_answer_after_finishing_and_changes_nothing(client, started):
    answer_everything(client, started)
    client.post(started.path("finish"))
    assert started.refresh().is_locked
    before = list(RecognitionAnswer.objects.values("option", "note", "seconds"))
    changes = AnswerChange.objects.count()
    response = post_answer(client, started, **task_payload(started, 0), option="Cardiomegaly", seconds=50.0)
    _refused(response, 403, "finished this study")
    assert list(RecognitionAnswer.objects.values("option", "note", "seconds")) == before
    assert AnswerChange.objects.count() == changes


def test_it_refuses_an_answer_without_a_csrf_token(alice):
    browser = Client(enforce_csrf_checks=True)
    start(browser, alice)  # also refused: no token in the form
    response = browser.post(
        alice.path("answer"),
        json.dumps(task_payload(alice, 0) | {"option": "Cardiomegaly"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    _nothing_stored()


def test_it_refuses_a_body_that_is_not_json(client, started):
    response = client.post(
        started.path("answer"), "option=Cardiomegaly", content_type="application/x-www-form-urlencoded"
    )
    _refused(response, 400, "could not be read")


def test_it_bounds_the_reported_seconds_to_a_plausible_time(client, started):
    post_answer(client, started, **task_payload(started, 0), option="Cardiomegaly", seconds=10_000)
    assert RecognitionAnswer.objects.get().seconds <= 120


def test_it_refuses_a_negative_or_non_numeric_time(client, started):
    response = post_answer(client, started, **task_payload(started, 0), seconds="lots")
    _refused(response, 400, "number of seconds")
    post_answer(client, started, **task_payload(started, 0), seconds=-30)
    assert RecognitionAnswer.objects.get().seconds == 0


def _post_raw(client, invited, body: bytes):
    return client.post(invited.path("answer"), body, content_type="application/json")


def test_it_refuses_seconds_of_four_hundred_digits_with_a_400(client, started):
    fields = json.dumps(task_payload(started, 0))[:-1]
    response = _post_raw(client, started, f'{fields}, "seconds": 1{"0" * 400}}}'.encode())
    _refused(response, 400, "number of seconds")
    _nothing_stored()


def test_it_refuses_an_integer_beyond_pythons_digit_limit_with_a_400(client, started):
    fields = json.dumps(task_payload(started, 0))[:-1]
    _refused(_post_raw(client, started, f'{fields}, "seconds": 1{"0" * 5000}}}'.encode()), 400, "could not be read")


def test_it_refuses_infinite_or_nan_seconds(client, started):
    fields = json.dumps(task_payload(started, 0))[:-1]
    for number in ("Infinity", "NaN", "1e400"):
        response = _post_raw(client, started, f'{fields}, "seconds": {number}}}'.encode())
        assert response.status_code == 400, number
    _nothing_stored()


def test_it_refuses_a_hundred_thousand_nested_brackets_with_a_400(client, started):
    _refused(_post_raw(client, started, b"[" * 100_000 + b"]" * 100_000), 400, "could not be read")


def test_it_refuses_a_body_over_the_limit_with_a_413(client, started):
    note = "x" * (MAX_BODY_BYTES + 1)
    response = post_answer(client, started, **task_payload(started, 0), note=note)
    _refused(response, 413, "larger than 256 KB")
    _nothing_stored()


def test_it_refuses_an_answer_for_a_task_after_the_first_unanswered_one(client, started):
    response = post_answer(client, started, **task_payload(started, 1), option="Cardiomegaly", seconds=3)
    _refused(response, 409, "Please answer task 1 first")
    _nothing_stored()


def test_it_accepts_a_changed_answer_to_an_earlier_task(client, started):
    assert post_answer(client, started, **task_payload(started, 0), option="Cardiomegaly").status_code == 200
    assert post_answer(client, started, **task_payload(started, 1), option="Cardiomegaly").status_code == 200
    assert post_answer(client, started, **task_payload(started, 0), option="Pleural effusion").status_code == 200
