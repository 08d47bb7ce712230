"""The background pruner: it calls revisions_prune() until it has caught up, and a database
that cannot be reached now is tried again next time."""

import asyncio
import logging

from api.db import retention
from api.db.retention import Pruner
from api.schema.errors import ServiceUnavailable
from testing.live_api import psql, served


class ScriptedStore:
    """Answers revisions_prune with the next of `answers` ((scanned, deleted), or an error to raise)."""

    def __init__(self, *answers) -> None:
        self.answers, self.calls = list(answers), []

    async def revisions_prune(self, keep: int, max_age_seconds: float, batch: int) -> tuple[int, int]:
        self.calls.append((keep, max_age_seconds, batch))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_it_prunes_again_while_a_call_looked_at_a_whole_batch():
    store = ScriptedStore((retention.BATCH, 40), (retention.BATCH, 2), (7, 1))

    assert asyncio.run(Pruner(store, 100, 86400.0, 60).prune()) == 43
    assert store.calls == [(100, 86400.0, retention.BATCH)] * 3


def test_a_database_away_is_tried_again_next_time(caplog):
    store = ScriptedStore((retention.BATCH, 5), ServiceUnavailable())

    with caplog.at_level(logging.INFO, logger="api.db.retention"):
        assert asyncio.run(Pruner(store, 100, 86400.0, 60).prune()) == 5
    assert "not pruned this time" in caplog.text


def test_it_deletes_what_is_past_retention_on_the_database(settings, migrated_dsn, rows):
    async def scenario() -> int:
        async with served(settings) as (client, app):
            created = (await client.post("/api/v1/applications", json={"name": "pruned"})).json()
            for name in ("a", "b", "c"):
                await client.put(f"/api/v1/applications/{created['id']}", json={"name": name})
            await asyncio.to_thread(psql, migrated_dsn, "UPDATE revisions SET changed_at = now() - interval '2 days'")
            return await Pruner(app.state.store, keep=2, max_age_seconds=86400, every_seconds=0).prune()

    assert asyncio.run(scenario()) == 2
    assert rows("SELECT action FROM revisions ORDER BY revision") == [("updated",), ("updated",)]
