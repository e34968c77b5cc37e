"""The reader's way through a study: welcome, start, tasks in plan order, resume, go back, finish, locked."""

from surveys.models import AnswerChange, RankingSet, Reader, RecognitionAnswer, Study, Volume
from tests.platform.conftest import answer_everything, finish, post_answer, start, task_payload


def test_the_welcome_page_shows_the_instructions_and_the_number_of_tasks(client, alice):
    response = client.get(alice.path("welcome"))
    assert response.status_code == 200
    assert b"<strong>1 = best</strong>" in response.content and b"4 tasks" in response.content


def test_starting_records_the_optional_demographics_and_opens_task_one(client, alice):
    response = start(client, alice, years_experience="12", level="senior")
    assert response.status_code == 302 and response["Location"] == alice.path("task", 1)
    reader = alice.refresh()
    assert (reader.years_experience, reader.level) == (12, "senior") and reader.started_at is not None


def test_starting_without_demographics_is_fine(client, alice):
    assert start(client, alice).status_code == 302
    assert alice.refresh().years_experience is None and alice.reader.level == ""


def test_it_refuses_an_unknown_level_with_the_welcome_page_again(client, alice):
    response = start(client, alice, level="chief")
    assert response.status_code == 400 and alice.refresh().started_at is None


def test_tasks_follow_the_readers_own_plan(client, alice):
    start(client, alice)
    first = client.get(alice.path("task", 1))
    assert alice.reader.plan[0]["volume"].encode() in first.content
    assert first.templates[0].name == "surveys/recognition.html"


def test_the_ranking_page_shows_four_scans_and_opens_in_the_structures_window(client, alice):
    start(client, alice)
    answer_everything(client, alice)
    position = next(i for i, t in enumerate(alice.reader.plan) if t.get("structure") == "vessels")
    response = client.get(alice.path("task", position + 1))
    assert response.context["window"] == "vessels"
    assert [scan["name"] for scan in response.context["scans"]] == alice.reader.plan[position]["volumes"]
    assert response.content.count(b'<select class="rank"') == 4


def test_the_reader_cannot_skip_past_an_unanswered_task(client, alice):
    start(client, alice)
    response = client.get(alice.path("task", 3), follow=True)
    assert response.redirect_chain[-1][0] == alice.path("task", 1)
    assert b"Please answer task 1 before moving on" in response.content


def test_reopening_the_link_resumes_at_the_task_the_reader_was_on_with_the_answer_shown(client, alice):
    start(client, alice)
    post_answer(client, alice, **task_payload(alice, 0), option="Cardiomegaly", note="large heart")
    client.get(alice.path("task", 2))
    response = client.get(alice.path("welcome"))
    assert response["Location"] == alice.path("task", 2)
    back = client.get(alice.path("task", 1))
    assert b'value="Cardiomegaly" checked' in back.content and b"large heart" in back.content


def test_changing_an_answer_keeps_one_answer_and_audits_each_change(client, alice):
    start(client, alice)
    post_answer(client, alice, **task_payload(alice, 0), option="Cardiomegaly")
    post_answer(client, alice, **task_payload(alice, 0), option="Consolidation")
    post_answer(client, alice, **task_payload(alice, 0), seconds=2.0)
    assert RecognitionAnswer.objects.get().option == "Consolidation"
    assert [c.value["option"] for c in AnswerChange.objects.order_by("changed_at")] == ["Cardiomegaly", "Consolidation"]


def test_time_reports_accumulate_per_task(client, alice):
    start(client, alice)
    post_answer(client, alice, **task_payload(alice, 0), seconds=2.0)
    post_answer(client, alice, **task_payload(alice, 0), option="Cardiomegaly", seconds=1.5)
    assert RecognitionAnswer.objects.get().seconds == 3.5


def test_finishing_is_refused_while_a_task_has_no_answer(client, alice):
    start(client, alice)
    post_answer(client, alice, **task_payload(alice, 0), option="Cardiomegaly")
    response = client.post(alice.path("finish"), follow=True)
    assert b"Some tasks still need an answer: 2, 3, 4." in response.content
    assert not alice.refresh().is_locked


def test_finishing_locks_the_answers_and_the_link_shows_the_closing_message(client, alice):
    start(client, alice)
    answer_everything(client, alice)
    assert b"Finish the study" in client.get(alice.path("finish")).content
    client.post(alice.path("finish"))
    assert alice.refresh().finished_at is not None
    for page in (alice.path("welcome"), alice.path("task", 1), alice.path("finish")):
        assert b"Thanks for your time, Dr Reader." in client.get(page).content
    assert client.post(alice.path("finish")).status_code == 403


def test_task_pages_keep_the_instructions_at_hand(client, alice):
    start(client, alice)
    assert b"<summary>Instructions</summary>" in client.get(alice.path("task", 1)).content


def test_a_finished_reader_still_sees_the_thank_you_page_after_the_study_is_closed(client, alice):
    finish(client, alice)
    Study.objects.filter(pk=alice.reader.study_id).update(status=Study.CLOSED)
    for page in (alice.path("welcome"), alice.path("task", 1), alice.path("finish")):
        response = client.get(page)
        assert response.status_code == 200 and b"Thanks for your time, Dr Reader." in response.content


def test_an_unfinished_reader_of_a_closed_study_is_told_it_is_not_open(client, alice):
    start(client, alice)
    Study.objects.filter(pk=alice.reader.study_id).update(status=Study.CLOSED)
    response = client.get(alice.path("task", 1))
    assert response.status_code == 403 and b"not open for reading" in response.content


def test_a_ranking_set_of_more_than_ten_scans_is_labelled_a_to_z_then_aa_ab(client, alice):
    study = alice.reader.study
    template = study.volumes.first()
    names = [f"{i:024x}" for i in range(28)]
    ranking_set = RankingSet.objects.create(study=study, structure="lobes", key="lobes-many", window="lung")
    ranking_set.volumes.set(
        [
            Volume.objects.create(
                study=study, name=n, key_id=n, source=n, sha256=template.sha256, raw_bytes=template.raw_bytes
            )
            for n in names
        ]
    )
    Reader.objects.filter(pk=alice.reader.pk).update(
        plan=[{"kind": "ranking", "structure": "lobes", "set": "lobes-many", "volumes": names}]
    )
    start(client, alice)
    response = client.get(alice.path("task", 1))
    letters = [scan["letter"] for scan in response.context["scans"]]
    assert letters[:3] == ["A", "B", "C"] and letters[9:11] == ["J", "K"] and letters[25:] == ["Z", "AA", "AB"]
    assert response.content.count(b'<select class="rank"') == 28 and b'name="rank-AB"' in response.content


def test_the_recognition_page_opens_in_the_window_the_study_names(client, alice):
    study = alice.reader.study
    study.design["recognition"]["window"] = "mediastinum"
    study.save()
    start(client, alice)
    assert client.get(alice.path("task", 1)).context["window"] == "mediastinum"


def test_a_study_imported_without_a_recognition_window_opens_recognition_in_the_lung_window(client, alice):
    study = alice.reader.study
    del study.design["recognition"]["window"]
    study.save()
    start(client, alice)
    assert client.get(alice.path("task", 1)).context["window"] == "lung"


def test_each_task_page_names_the_next_pages_scans_for_the_browser_to_prefetch(client, alice):
    start(client, alice)
    answer_everything(client, alice)
    plan = alice.reader.plan
    names = lambda task: [task["volume"]] if task["kind"] == "recognition" else task["volumes"]  # noqa: E731
    for position in range(len(plan)):
        upcoming = client.get(alice.path("task", position + 1)).context["upcoming"]
        expected = (
            []
            if position + 1 == len(plan)
            else [alice.path("volume", n) for n in names(plan[position + 1]) if n not in names(plan[position])]
        )
        assert upcoming == expected
    assert expected == [] and any(
        client.get(alice.path("task", p + 1)).context["upcoming"] for p in range(len(plan) - 1)
    )


def test_the_welcome_page_names_the_first_tasks_scans_for_the_browser_to_prefetch(client, alice):
    first = alice.reader.plan[0]
    names = [first["volume"]] if first["kind"] == "recognition" else first["volumes"]
    response = client.get(alice.path("welcome"))
    assert response.context["upcoming"] == [alice.path("volume", name) for name in names]
    assert b'id="upcoming-scans"' in response.content
