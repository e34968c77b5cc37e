"""The plan frozen when a study opens, and no peeking: progress only while it is open, the primary endpoints at the
interim looks the plan allows, everything once closed; every look recorded."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from studies.analysis.plan import plan_digest
from surveys.bundles import import_bundle
from surveys.models import ResultsLook, Study, set_status
from tests.platform.conftest import finish, invite, post_answer, start, task_payload, valid_answer

INTERIM = {"looks": [0.5, 1.0], "spending": "obrien-fleming", "readers": 4}


def _results(study) -> str:
    return reverse("surveys:results", args=[study.slug])


def _close(study) -> None:
    set_status(Study.objects.filter(pk=study.pk), Study.CLOSED)


def _answer_one(client, invited) -> None:
    start(client, invited)
    task = invited.refresh().plan[0]
    response = post_answer(
        client, invited, **task_payload(invited, 0), seconds=2.0, **valid_answer(invited.reader.study, task)
    )
    assert response.status_code == 200


def _allow_interim_looks(study) -> Study:
    """Give the open study a plan whose primary ranking test is Friedman's, with looks at half and all of 4 readers
    (allowed: no answer yet)."""
    study.plan = {**study.plan, "ranking": {**study.plan["ranking"], "primary": "friedman", "interim": INTERIM}}
    study.save()
    study.refresh_from_db()
    return study


def test_opening_a_study_freezes_its_plan_with_digest_and_time(db, bundle):
    study, _ = import_bundle(bundle)
    assert study.plan_frozen_at is None and study.plan["ranking"]["primary"] == "crossed"
    set_status(Study.objects.filter(pk=study.pk), Study.OPEN)
    study.refresh_from_db()
    assert study.plan_frozen_at is not None and study.plan_sha256 == plan_digest(study.plan)


def test_the_plan_cannot_change_once_the_first_answer_exists(client, study, alice):
    study.plan = {**study.plan, "alpha": 0.01}
    study.save()  # no answer yet: still the researcher's to change, frozen again
    assert Study.objects.get(pk=study.pk).plan_sha256 == plan_digest(study.plan)
    _answer_one(client, alice)
    study.refresh_from_db()
    study.plan = {**study.plan, "alpha": 0.2}
    with pytest.raises(ValidationError, match="The analysis plan is frozen"):
        study.save()
    assert Study.objects.get(pk=study.pk).plan["alpha"] == 0.01


def test_while_open_the_page_shows_progress_and_no_p_value_effect_or_ranking(client, coordinator, study, alice):
    finish(client, alice)
    client.force_login(coordinator)
    response = client.get(_results(study))
    page = response.content.decode()
    assert "Results are locked while the study is open" in page and "1 finished" in page
    assert "tasks answered" in page and study.plan_sha256[:10] in page
    for revealing in ("p =", "p &lt;", "Friedman", "mean rank", "mean_ranks", "AUC", "data:image/png", "medsyn"):
        assert revealing not in page
    assert "analysis" not in response.context and "analysis.zip</a>" not in page


def test_while_open_the_zip_download_is_refused(client, coordinator, study, alice):
    finish(client, alice)
    client.force_login(coordinator)
    response = client.get(reverse("surveys:results_zip", args=[study.slug]), follow=True)
    assert response.redirect_chain == [(_results(study), 302)]
    assert "locked while the study is open" in response.content.decode()


def test_closing_unlocks_the_results_and_the_zip_holds_the_frozen_plan(client, coordinator, study, alice):
    finish(client, alice)
    call_command("close_study", study.slug, stdout=io.StringIO())
    client.force_login(coordinator)
    page = client.get(_results(study)).content.decode()
    assert "Analysis plan" in page and "Primary endpoints" in page and "mean_ranks.csv" in page
    archive = zipfile.ZipFile(io.BytesIO(client.get(reverse("surveys:results_zip", args=[study.slug])).content))
    shipped = json.loads(archive.read("export/plan.json"))
    assert shipped["sha256"] == plan_digest(shipped["plan"]) == Study.objects.get(pk=study.pk).plan_sha256
    summary = json.loads(archive.read("summary.json"))
    assert summary["plan"]["sha256"] == shipped["sha256"] and summary["plan"]["source"] == "plan.json"


def test_every_look_is_recorded_with_who_and_what_was_shown(client, coordinator, study, alice):
    finish(client, alice)
    client.force_login(coordinator)
    client.get(_results(study))
    _close(study)
    client.get(_results(study))
    client.get(reverse("surveys:results_zip", args=[study.slug]))
    looks = list(
        ResultsLook.objects.filter(study=study).order_by("at", "pk").values_list("user__username", "what", "shown")
    )
    assert looks == [("carol", "page", "progress"), ("carol", "page", "final"), ("carol", "zip", "final")]


def test_the_plan_json_export_carries_the_plan_its_digest_and_the_time_it_was_frozen(client, coordinator, study):
    client.force_login(coordinator)
    response = client.get(reverse("surveys:export_plan", args=[study.slug]))
    document = json.loads(response.content)
    assert response["Content-Type"].startswith("application/json")
    assert document["sha256"] == study.plan_sha256 and document["frozen_at"].endswith("Z")
    assert document["plan"]["ranking"]["primary"] == "crossed" and document["looks"] == []


def test_an_interim_look_shows_only_the_primary_endpoints_against_their_boundary(client, coordinator, study):
    study = _allow_interim_looks(study)
    alice, bob, carol = invite(study, "alice"), invite(study, "bob"), invite(study, "carol")
    client.force_login(coordinator)
    assert "the next look comes at 0.5" in client.get(_results(study)).content.decode()
    finish(client, alice)
    finish(client, bob)  # 2 of 4 planned readers: the look at 0.5
    client.force_login(coordinator)
    response = client.get(_results(study))
    page = response.content.decode()
    assert "Interim look 1" in page and "nominal α at this look" in page
    rows = response.context["endpoints"]
    assert [(row["structure"], row["test"]) for row in rows] == [
        ("lobes and fissures", "friedman"),
        ("vessels", "friedman"),
    ]
    assert all(row["alpha"] == pytest.approx(0.00305, abs=1e-5) for row in rows)  # 2(1 − Φ(2.963))
    assert all(row["decision"] in ("continue", "boundary crossed") for row in rows)
    assert "mean_ranks" not in page and "data:image/png" not in page and "Mean rank" not in page
    frozen = ResultsLook.objects.get(study=study, summary__isnull=False)
    finish(client, carol)
    client.force_login(coordinator)
    client.get(_results(study))
    assert ResultsLook.objects.filter(study=study, summary__isnull=False).get() == frozen  # frozen at first view
    document = json.loads(client.get(reverse("surveys:export_plan", args=[study.slug])).content)
    assert [look["fraction"] for look in document["looks"]] == [0.5] and document["looks"][0]["by"] == "carol"
