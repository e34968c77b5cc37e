"""Rating and real-or-synthetic tasks on the platform: pages, keys, autosave rules, review, blinding, exports."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse

from surveys.models import DiscriminationAnswer, RatingAnswer, Study, set_status
from tests.platform.conftest import answer_everything, invite, post_answer, start, task_payload, valid_answer

SYNTHESIS = re.compile(r"synthe|generat|fake|artificial", re.IGNORECASE)


@pytest.fixture
def dana(client, mixed_study):
    """Dr Dana, a reader of the study with every task kind, started."""
    invited = invite(mixed_study, "dana")
    start(client, invited)
    return invited


def positions_of(invited, kind: str) -> list[int]:
    return [i for i, task in enumerate(invited.refresh().plan) if task["kind"] == kind]


def answer_up_to(client, invited, stop: int) -> None:
    """Answer tasks 0 .. stop-1 validly."""
    for position, task in enumerate(invited.refresh().plan[:stop]):
        extra = valid_answer(invited.reader.study, task)
        assert post_answer(client, invited, **task_payload(invited, position), **extra).status_code == 200


def test_the_import_stores_the_items_and_the_truth_on_the_server_only(mixed_study):
    assert mixed_study.rating_items.count() == 3 and mixed_study.rating["scale"] == 4
    truths = {item.volume.key_id: item.truth for item in mixed_study.discrimination_items.select_related("volume")}
    assert truths == {"real-1": "real", "real-2": "real", "medsyn-1": "synthetic", "ha-gan-1": "synthetic"}


def test_discrimination_tasks_come_last_and_ratings_mix_with_recognition(dana):
    kinds = [task["kind"] for task in dana.refresh().plan]
    assert sorted(kinds[:5]) == ["rating"] * 3 + ["recognition"] * 2
    assert kinds[5:] == ["ranking"] * 2 + ["discrimination"] * 4


def test_the_rating_page_shows_the_question_every_point_and_only_its_own_keys(client, dana):
    number = positions_of(dana, "rating")[0] + 1
    page = client.get(dana.path("task", number)).content.decode()
    assert "How realistic does this scan look?" in page
    assert 'name="score" value="1" data-key="1"' in page and 'name="score" value="4" data-key="4"' in page
    assert "Obviously wrong" in page and "Indistinguishable from clinical scans" in page
    keys = page[page.index('id="keys"') :]
    assert "<dt>1–4</dt><dd>score</dd>" in keys and "rank of" not in keys and "real / synthetic" not in keys


def test_no_page_before_the_first_real_or_synthetic_task_mentions_synthesis(client, dana):
    first = positions_of(dana, "discrimination")[0]
    pages = [client.get(dana.path("welcome"))]
    for position in range(first):
        pages.append(client.get(dana.path("task", position + 1)))
        answer_up_to(client, dana, position + 1)
    pages.append(client.get(dana.path("finish")))
    for response in pages:
        assert not SYNTHESIS.search(response.content.decode()), response.request["PATH_INFO"]
    later = client.get(dana.path("task", first + 1)).content.decode()
    assert "Is this a real scan or a synthetic one?" in later


def test_the_review_does_not_show_what_later_tasks_ask(client, dana):
    page = client.get(dana.path("finish")).content.decode()
    assert "Real or synthetic" not in page and "Ranking:" not in page
    assert page.count("Shown once the tasks before it are answered") == len(dana.reader.plan) - 1


def test_the_discrimination_page_offers_real_and_synthetic_with_l_and_s_and_confidence_1_to_5(client, dana):
    first = positions_of(dana, "discrimination")[0]
    answer_up_to(client, dana, first)
    page = client.get(dana.path("task", first + 1)).content.decode()
    assert 'value="real" data-key="l"' in page and 'value="synthetic" data-key="s"' in page
    assert all(f'name="confidence" value="{n}" data-key="{n}"' in page for n in range(1, 6))
    assert 'data-key="r"' not in page  # R is Papaya's ruler
    keys = page[page.index('id="keys"') :]
    assert "<dt>L / S</dt><dd>real / synthetic</dd>" in keys and "<dt>1–5</dt>" in keys


def test_a_rating_and_a_judgement_are_saved_changed_and_audited(client, dana):
    rating = positions_of(dana, "rating")[0]
    answer_up_to(client, dana, rating)
    assert post_answer(client, dana, **task_payload(dana, rating), score=2, note="noisy apex").status_code == 200
    assert post_answer(client, dana, **task_payload(dana, rating), score=3).status_code == 200
    answer = RatingAnswer.objects.get(reader=dana.reader)
    assert (answer.score, answer.note, answer.is_complete) == (3, "noisy apex", True)
    assert [c.value["score"] for c in dana.refresh().answer_changes.order_by("changed_at")][-2:] == [2, 3]
    answer_up_to(client, dana, positions_of(dana, "discrimination")[0])
    first = positions_of(dana, "discrimination")[0]
    reply = post_answer(client, dana, **task_payload(dana, first), answer="real")
    judged = DiscriminationAnswer.objects.get(reader=dana.reader)
    assert reply.status_code == 200 and not judged.is_complete, "a judgement needs its confidence too"
    post_answer(client, dana, **task_payload(dana, first), confidence=5)
    judged.refresh_from_db()
    assert judged.is_complete and (judged.answer, judged.confidence) == ("real", 5)


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("rating", {"score": 5}, "The score must be a whole number from 1 to 4."),
        ("rating", {"score": 0}, "The score must be a whole number from 1 to 4."),
        ("rating", {"score": True}, "The score must be a whole number from 1 to 4."),
        ("rating", {"score": 2.0}, "The score must be a whole number from 1 to 4."),
        ("rating", {"score": "3"}, "The score must be a whole number from 1 to 4."),
        ("rating", {"note": "x" * 5001}, "The note must be text of at most 5000 characters."),
        ("discrimination", {"answer": "maybe"}, 'The answer must be "real" or "synthetic".'),
        ("discrimination", {"confidence": 6}, "The confidence must be a whole number from 1 to 5."),
        ("discrimination", {"confidence": None}, "The confidence must be a whole number from 1 to 5."),
    ],
)
def test_answers_outside_the_task_are_refused_in_words_and_change_nothing(client, dana, kind, fields, message):
    position = positions_of(dana, kind)[0]
    answer_up_to(client, dana, position)
    response = post_answer(client, dana, **task_payload(dana, position), **fields)
    assert response.status_code == 400 and response.json()["error"] == message
    model = RatingAnswer if kind == "rating" else DiscriminationAnswer
    assert not model.objects.filter(reader=dana.reader).exists()


def test_a_judgement_cannot_be_saved_under_another_tasks_kind(client, dana):
    position = positions_of(dana, "discrimination")[0]
    answer_up_to(client, dana, position)
    payload = dict(task_payload(dana, position), kind="rating", score=1)
    assert post_answer(client, dana, **payload).json()["error"] == "This item is not part of your study."


def test_the_review_shows_scores_and_judgements_once_everything_is_answered(client, dana):
    answer_everything(client, dana)
    page = client.get(dana.path("finish")).content.decode()
    assert page.count("4 of 4") == 3 and page.count("Synthetic, confidence 4 of 5") == 4
    assert "Shown once" not in page and 'id="finish"' in page


def read_csv(path):
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_exports_have_headers_before_anyone_answers(mixed_study, tmp_path):
    call_command("export_responses", mixed_study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    assert (tmp_path / "ratings.csv").read_text() == (
        "study,reader,volume,source,scale,score,note,seconds,higher_is_more_realistic\n"
    )
    assert (tmp_path / "discrimination.csv").read_text() == (
        "study,reader,volume,source,truth,answer,confidence,correct,note,seconds\n"
    )


def test_exports_carry_each_score_and_judgement_with_the_truth(client, dana, mixed_study, tmp_path):
    answer_everything(client, dana)
    call_command("export_responses", mixed_study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    ratings = read_csv(tmp_path / "ratings.csv")
    assert [(r["volume"], r["source"], r["scale"], r["score"]) for r in ratings] == [
        ("ha-gan-2", "ha-gan", "4", "4"),
        ("medsyn-2", "medsyn", "4", "4"),
        ("real-2", "real", "4", "4"),
    ]
    assert {r["higher_is_more_realistic"] for r in ratings} == {"true"}
    judged = read_csv(tmp_path / "discrimination.csv")
    assert [(r["volume"], r["truth"], r["answer"], r["confidence"], r["correct"]) for r in judged] == [
        ("ha-gan-1", "synthetic", "synthetic", "4", "True"),
        ("medsyn-1", "synthetic", "synthetic", "4", "True"),
        ("real-1", "real", "synthetic", "4", "False"),
        ("real-2", "real", "synthetic", "4", "False"),
    ]
    design = read_csv(tmp_path / "design.csv")
    assert [(r["volume"], r["truth"]) for r in design if r["task"] == "discrimination"] == [
        ("ha-gan-1", "synthetic"),
        ("medsyn-1", "synthetic"),
        ("real-1", "real"),
        ("real-2", "real"),
    ]
    assert sorted(r["volume"] for r in design if r["task"] == "rating") == ["ha-gan-2", "medsyn-2", "real-2"]


def test_minutes_and_progress_count_the_new_tasks(client, dana):
    answer_everything(client, dana)
    reader = dana.refresh()
    assert reader.progress() == (len(reader.plan), len(reader.plan))
    assert reader.seconds_spent() == pytest.approx(3.0 * len(reader.plan))


def test_the_results_page_and_zip_analyse_ratings_and_judgements(client, mixed_study, coordinator):
    for name in ("erin", "frank"):
        reader_client = type(client)()
        invited = invite(mixed_study, name)
        start(reader_client, invited)
        answer_everything(reader_client, invited)
    set_status(Study.objects.filter(pk=mixed_study.pk), Study.CLOSED)  # closing unlocks the results
    client.force_login(coordinator)
    page = client.get(reverse("surveys:results", args=[mixed_study.slug])).content.decode()
    assert "Realism rating" in page and "Real or synthetic" in page
    assert "rating_by_source.csv" in page and "discrimination_accuracy.csv" in page
    assert "ratings.png" in page and "discrimination_roc.png" in page
    archive = zipfile.ZipFile(io.BytesIO(client.get(reverse("surveys:results_zip", args=[mixed_study.slug])).content))
    summary = json.loads(archive.read("summary.json"))
    assert summary["discrimination"]["accuracy"] == 0.5 and summary["discrimination"]["auc"] == 0.5
    assert summary["rating"]["by_source"]["real"]["mean"] == 4
    assert {"export/ratings.csv", "export/discrimination.csv"} <= set(archive.namelist())


def test_notes_of_ratings_and_judgements_reach_the_review_table(client, dana, mixed_study, coordinator):
    answer_everything(client, dana)
    judged = positions_of(dana, "discrimination")[0]
    post_answer(client, dana, **task_payload(dana, judged), note="vessels end abruptly")
    set_status(Study.objects.filter(pk=mixed_study.pk), Study.CLOSED)  # closing unlocks the results
    client.force_login(coordinator)
    page = client.get(reverse("surveys:results", args=[mixed_study.slug])).content.decode()
    assert "notes.csv" in page and "vessels end abruptly" in page and "synthetic, confidence 4" in page
