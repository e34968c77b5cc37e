"""Per-reader plans: each reader's own seeded order from studies.plans.reader_plan, fixed at invitation."""

from studies.plans import reader_plan
from tests.platform.conftest import invite


def test_a_readers_plan_is_reader_plan_of_the_study_for_their_index(study):
    readers = [invite(study).reader for _ in range(3)]
    for reader in readers:
        assert reader.plan == reader_plan(study.design, reader.index)


def test_recognition_tasks_come_first_then_every_ranking_set_once(alice):
    kinds = [task["kind"] for task in alice.reader.plan]
    assert kinds == ["recognition", "recognition", "ranking", "ranking"]
    assert sorted(task["set"] for task in alice.reader.plan[2:]) == ["lobes-and-fissures-1", "vessels-1"]


def test_different_readers_see_the_scans_of_a_set_in_different_orders(study):
    orders = {tuple(invite(study).reader.plan[2]["volumes"]) for _ in range(4)}
    assert len(orders) > 1


def test_the_plan_refers_to_volumes_only_by_opaque_names(alice):
    names = set(alice.reader.study.volumes.values_list("name", flat=True))
    for task in alice.reader.plan:
        assert set(task.get("volumes", [task.get("volume")])) <= names
