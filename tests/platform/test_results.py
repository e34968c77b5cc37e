"""The staff results page: the statistics of `python -m studies analyze`, live from the answers so far; staff only."""

import io
import json
import re
import zipfile

import pytest
from django.urls import reverse

from studies.analysis.endpoints import read_plan
from studies.analysis.summary import analyze
from studies.analysis.tables import read_design, read_pathology, read_rankings, read_readers
from surveys.exports import write_exports
from surveys.models import RankingAnswer, RankingSet, Study, Volume, set_status
from tests.platform.conftest import answer_everything, post_answer, start, task_payload


def _results(study) -> str:
    return reverse("surveys:results", args=[study.slug])


def _zip(study) -> str:
    return reverse("surveys:results_zip", args=[study.slug])


def _close(study) -> None:
    """Close the study: what unlocks its results."""
    set_status(Study.objects.filter(pk=study.pk), Study.CLOSED)


def _positions(invited, kind: str) -> list[int]:
    return [position for position, task in enumerate(invited.refresh().plan) if task["kind"] == kind]


@pytest.fixture
def answered(client, alice, bob):
    """Alice answered everything and finished; Bob reversed the order of the first set he ranked."""
    start(client, alice)
    answer_everything(client, alice)
    client.post(alice.path("finish"))
    start(client, bob)
    position = _positions(bob, "ranking")[0]
    names = bob.refresh().plan[position]["volumes"]
    post_answer(
        client,
        bob,
        **task_payload(bob, position),
        seconds=5.0,
        ranks={name: len(names) - i for i, name in enumerate(names)},
    )
    return alice, bob


def _store_ranks(invited, ranking_set: RankingSet, count: int, order: str = "key_id") -> None:
    """Store a ranking of only `count` scans of a set, as no page would (a state to survive, not to make)."""
    names = [volume.name for volume in ranking_set.volumes.order_by(order)][:count]
    RankingAnswer.objects.create(
        reader=invited.reader, ranking_set=ranking_set, ranks={name: i + 1 for i, name in enumerate(names)}
    )


def test_a_reader_token_cannot_reach_the_results_page(client, study, answered):
    alice, _ = answered
    for path in (_results(study), _zip(study), f"{_results(study)}?token={alice.token}"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_a_logged_in_user_who_is_not_staff_cannot_reach_it(client, study, django_user_model):
    client.force_login(django_user_model.objects.create_user("mallory", password="mallory-password"))
    assert client.get(_results(study)).status_code == 302
    assert client.get(_zip(study)).status_code == 302


def test_an_unknown_study_is_not_found(client, coordinator, study):
    client.force_login(coordinator)
    assert client.get(reverse("surveys:results", args=["no-such-study"])).status_code == 404


def test_before_any_answer_it_says_so_and_counts_the_readers(client, coordinator, study, alice):
    client.force_login(coordinator)
    page = client.get(_results(study)).content.decode()
    assert "Results are locked" in page and "1 reader invited, 0 started, 0 finished" in page
    assert "analysis.zip" not in page
    _close(study)
    assert "No answers yet" in client.get(_results(study)).content.decode()


def test_it_shows_mean_ranks_computed_from_the_answers_so_far(client, coordinator, study, answered):
    _close(study)
    client.force_login(coordinator)
    response = client.get(_results(study))
    page = response.content.decode()
    assert "2 readers invited, 2 started, 1 finished" in page
    for structure, result in response.context["analysis"].summary["ranking"].items():
        ranks = {}
        answers = RankingAnswer.objects.filter(ranking_set__structure=structure).prefetch_related(
            "ranking_set__volumes"
        )
        for answer in answers:
            for volume in answer.ranking_set.volumes.all():
                ranks.setdefault(volume.source, []).append(answer.ranks[volume.name])
        assert result["mean_rank"] == pytest.approx({source: sum(r) / len(r) for source, r in ranks.items()})
        assert result["n_blocks"] == len(next(iter(ranks.values())))
    assert "mean_ranks.csv" in page and "Friedman test" in page and 'src="data:image/png;base64,' in page


def test_the_page_shows_what_the_command_line_computes_from_the_export(client, coordinator, study, answered, tmp_path):
    _close(study)
    write_exports(study, tmp_path)
    design = read_design(tmp_path / "design.csv")
    expected = analyze(
        read_rankings(tmp_path / "rankings.csv", design),
        read_pathology(tmp_path / "pathology.csv", design),
        read_readers(tmp_path / "readers.csv"),
        design=design,
        plan=read_plan(tmp_path / "plan.json"),
    )
    client.force_login(coordinator)
    assert client.get(_results(study)).context["analysis"].summary == expected


def test_the_analysis_download_is_a_zip_with_summary_json(client, coordinator, study, answered):
    _close(study)
    client.force_login(coordinator)
    response = client.get(_zip(study))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{study.slug}-analysis.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) >= {
        "summary.json",
        "report.md",
        "mean_ranks.csv",
        "tests.csv",
        "pairwise.csv",
        "recognition.csv",
        "mean_ranks.png",
        "rank_frequencies.png",
        "recognition.png",
        "export/rankings.csv",
        "export/pathology.csv",
        "export/readers.csv",
        "export/design.csv",
        "reader_agreement.csv",
        "scan_level.csv",
    }
    summary = json.loads(archive.read("summary.json"))
    assert summary["ranking"]["lobes and fissures"]["n_blocks"] >= 1 and summary["readers"]["finished"] == 1
    assert archive.read("export/rankings.csv").decode().startswith("study,reader,structure,set,volume,source,rank")


def test_recognition_answers_alone_give_recognition_results(client, coordinator, study, alice):
    start(client, alice)
    for position in _positions(alice, "recognition"):
        post_answer(client, alice, **task_payload(alice, position), option="Pleural effusion", seconds=2.0)
    _close(study)
    client.force_login(coordinator)
    response = client.get(_results(study))
    assert response.status_code == 200
    assert set(response.context["plots"]) == {"recognition.png"}
    assert "Pathology recognition" in response.content.decode()
    names = zipfile.ZipFile(io.BytesIO(client.get(_zip(study)).content)).namelist()
    assert "recognition.png" in names and "mean_ranks.csv" not in names


def test_a_structure_with_only_incomplete_rankings_shows_no_tests_yet(client, coordinator, study, alice, bob):
    ranking_set = RankingSet.objects.get(study=study, structure="lobes and fissures")
    _store_ranks(alice, ranking_set, 3)
    _store_ranks(bob, ranking_set, 3, order="-key_id")  # each lacks a different source: no complete block
    _close(study)
    client.force_login(coordinator)
    response = client.get(_results(study))
    assert response.status_code == 200
    assert "No complete ranking of lobes and fissures yet (2 incomplete)" in response.content.decode()
    assert client.get(_zip(study)).status_code == 200


def test_answers_that_cannot_be_analysed_show_the_problem_not_a_server_error(client, coordinator, study, alice):
    ranking_set = RankingSet.objects.get(study=study, structure="vessels")
    _store_ranks(alice, ranking_set, 4)
    blanked = ranking_set.volumes.order_by("key_id").first()
    Volume.objects.filter(pk=blanked.pk).update(source="")  # blanked by hand in the admin: the design no longer holds
    _close(study)
    client.force_login(coordinator)
    page = client.get(_results(study)).content.decode()
    assert "cannot be analysed" in page and "empty source" in page
    response = client.get(_zip(study), follow=True)
    assert response.redirect_chain == [(_results(study), 302)]
    assert "empty source" in response.content.decode()


def test_a_ranking_of_fewer_scans_than_the_design_is_listed_as_incomplete(client, coordinator, study, alice):
    _store_ranks(alice, RankingSet.objects.get(study=study, structure="vessels"), 1)
    _close(study)
    client.force_login(coordinator)
    assert "No complete ranking of vessels yet (1 incomplete)" in client.get(_results(study)).content.decode()


def test_the_exports_page_and_the_admin_link_to_the_results(client, coordinator, study):
    client.force_login(coordinator)
    assert f'href="{_results(study)}"' in client.get(reverse("surveys:exports", args=[study.slug])).content.decode()
    assert f'href="{_results(study)}"' in client.get("/admin/surveys/study/").content.decode()
    assert f'href="{_results(study)}"' in client.get(f"/admin/surveys/study/{study.pk}/change/").content.decode()


def test_every_table_plot_and_paragraph_of_the_page_lists_the_reference_first_then_the_others_sorted(
    client, coordinator, study, answered
):
    order = ["real", "ha-gan", "medical-diffusion", "medsyn"]  # the design lists each set's volumes by id: real last
    _close(study)
    client.force_login(coordinator)
    response = client.get(_results(study))
    tables = {table.name: table for table in response.context["tables"]}
    mean_ranks = tables["mean_ranks.csv"]
    source, structure = mean_ranks.columns.index("source"), mean_ranks.columns.index("structure")
    for name in ("lobes and fissures", "vessels"):
        assert [row[source] for row in mean_ranks.rows if row[structure] == name] == order
    assert [row[1] for row in tables["recognition.csv"].rows if row[0] == "source"] == ["real", "medsyn"]
    for result in response.context["analysis"].summary["ranking"].values():
        assert list(result["mean_rank"]) == order
    sentences = re.findall(r"were (.*?)\. The Friedman", response.content.decode())
    assert len(sentences) == 2 and all(sorted(order, key=sentence.index) == order for sentence in sentences)
