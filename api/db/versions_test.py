"""Versions: which remembered document an If-None-Match names, in which epoch, which goes first, and
what a migration makes the gateway forget."""

import asyncio

import pytest

from api.db.gateway import Store
from api.db.replicas import Reads
from api.db.versions import Known, Versions

TAG = '"' + "a" * 32 + '"'
OTHER = '"' + "b" * 32 + '"'
READ = ("SELECT config_get(%s)", "01ARZ3NDEKTSV4RRFFQ69G5FAV")


class Clock:
    """The epoch: connections the pools have opened."""

    def __init__(self) -> None:
        self.opened = 1

    def __call__(self) -> int:
        return self.opened


@pytest.fixture
def epoch() -> Clock:
    return Clock()


@pytest.fixture
def versions(epoch: Clock) -> Versions:
    versions = Versions(epoch)
    versions.remember(READ, TAG, 42, epoch())
    return versions


@pytest.mark.parametrize(
    "if_none_match",
    [TAG, f"W/{TAG}", f"{OTHER}, {TAG}", f"{OTHER},W/{TAG}", f"  {TAG}  ", "*"],
    ids=["exact", "weak", "in_a_list", "weak_in_a_list", "padded", "star"],
)
def test_an_if_none_match_naming_the_stored_tag_matches_it(versions, epoch, if_none_match):
    assert versions.matching(READ, if_none_match) == Known(TAG, 42, epoch())


@pytest.mark.parametrize("if_none_match", [None, OTHER, f"W/{OTHER}", f"{OTHER}, {OTHER}", TAG[:-1], ""])
def test_an_if_none_match_not_naming_it_matches_nothing(versions, if_none_match):
    assert versions.matching(READ, if_none_match) is None


def test_another_read_matches_nothing(versions):
    assert versions.matching((READ[0], "01BX5ZZKBKACTAV9WEVGEMMVRZ"), TAG) is None
    assert versions.matching(("SELECT config_get_by_name(%s, %s)", *READ[1:]), TAG) is None


def test_a_connection_opened_since_makes_every_entry_unusable(versions, epoch):
    epoch.opened += 1

    assert versions.matching(READ, TAG) is None
    versions.remember(READ, TAG, 43, epoch())  # a read of the new epoch is kept again
    assert versions.matching(READ, TAG) == Known(TAG, 43, epoch())


def test_forgetting_empties_it_and_a_read_begun_before_is_not_kept(versions):
    began = versions.epoch()

    versions.forget()

    assert len(versions) == 0 and versions.matching(READ, TAG) is None
    assert versions.epoch() != began
    versions.remember(READ, TAG, 42, began)  # a read that began before: its document may be the old shape
    assert versions.matching(READ, TAG) is None
    versions.remember(READ, TAG, 42, versions.epoch())
    assert versions.matching(READ, TAG) == Known(TAG, 42, versions.epoch())


def test_paused_it_keeps_nothing_until_forgotten_again(versions):
    versions.pause()

    assert len(versions) == 0 and versions.matching(READ, TAG) is None
    versions.remember(READ, TAG, 42, versions.epoch())
    assert versions.matching(READ, TAG) is None and len(versions) == 0

    versions.forget()  # the listener listens again
    versions.remember(READ, TAG, 42, versions.epoch())
    assert versions.matching(READ, TAG) == Known(TAG, 42, versions.epoch())


def test_remembering_no_version_forgets_the_read(versions, epoch):
    versions.remember(READ, OTHER, None, epoch())

    assert len(versions) == 0
    assert versions.matching(READ, TAG) is None and versions.matching(READ, OTHER) is None


def test_a_read_begun_in_an_older_epoch_is_not_kept_and_forgets_what_was(versions, epoch):
    began = epoch()
    epoch.opened += 1
    versions.remember(("other",), TAG, 7, epoch())

    versions.remember(READ, OTHER, 43, began)

    assert versions.matching(READ, OTHER) is None and versions.matching(READ, TAG) is None
    assert len(versions) == 1  # the other read's entry alone


def test_remembering_again_replaces_the_entry(versions, epoch):
    versions.remember(READ, OTHER, 43, epoch())

    assert versions.matching(READ, TAG) is None
    assert versions.matching(READ, OTHER) == Known(OTHER, 43, epoch())
    assert len(versions) == 1


def test_at_max_entries_the_oldest_goes_first_and_remembering_again_makes_an_entry_the_newest(epoch):
    versions = Versions(epoch, max_entries=3)
    for n in range(3):
        versions.remember(n, TAG, n + 100, epoch())

    versions.remember(1, OTHER, 201, epoch())  # full, but the same read: nothing goes; 0, 2, 1 from oldest

    assert len(versions) == 3
    assert [versions.matching(n, "*").version for n in range(3)] == [100, 201, 102]

    versions.remember(3, TAG, 103, epoch())  # 0 goes
    assert versions.matching(0, TAG) is None
    versions.remember(4, TAG, 104, epoch())  # then 2, not 1

    assert len(versions) == 3
    assert sorted(n for n in range(5) if versions.matching(n, "*") is not None) == [1, 3, 4]


@pytest.mark.parametrize(("standbys", "forgotten"), [(0, 1), (1, 2)])
def test_a_migration_is_forgotten_at_once_and_with_standbys_again_once_none_can_lag_behind_it(standbys, forgotten):
    # A standby known fresh may not have replayed the migration yet: what it answers meanwhile goes too.
    reads = Reads(primary=None, standbys=[None] * standbys, max_lag=0.05)
    store = Store(None, reads)

    async def migrated() -> int:
        store.schema_changed()
        assert store.versions.forgotten == 1
        await asyncio.sleep(0.2)
        return store.versions.forgotten

    assert asyncio.run(migrated()) == forgotten
