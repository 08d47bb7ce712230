"""The one LISTEN connection of an API process, outside the pool, read from the event loop.

Every function that writes notifies `appconfig_changes` when its transaction commits; this
connection hears them all, whoever wrote, and hands each payload to its `Subscriber` (the
watch hub, wired by the composition root). `migrations.py up` notifies `appconfig_schema` with
each migration and deploy of the functions: what the functions return may have changed, and the
listener tells its `Schema` (the gateway). It must be a session of its own on the server itself:
`LISTEN` does not survive PgBouncer's transaction pooling (LISTEN_DATABASE_URL).
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

import psycopg2
import psycopg2.extensions

from migrator import SCHEMA_CHANNEL

log = logging.getLogger(__name__)

# The channel every writing function notifies (db/README.md).
CHANNEL = "appconfig_changes"


class Subscriber(Protocol):
    """What the listener tells of the channel."""

    def notify(self, payload: str) -> None:
        """A notification's payload, as any role sent it."""

    def connected(self) -> None:
        """Listening (again): whatever was sent while not listening went unheard."""

    def disconnected(self) -> None:
        """The connection is lost; notifications go unheard until `connected`."""


class Schema(Protocol):
    """What the listener tells of the migrations (`appconfig_schema`)."""

    def schema_changed(self) -> None:
        """A migration committed; or the listener listens (again), and one may have gone unheard."""

    def schema_unheard(self) -> None:
        """The connection is lost: a migration would go unheard until `schema_changed`."""


class Listener:
    """LISTENs on `appconfig_changes` and `appconfig_schema` on a connection of its own, and feeds
    the subscriber and the schema; reconnects with backoff when the connection is lost (a server
    restart)."""

    BACKOFF = (0.05, 0.1, 0.2, 0.4, 0.8)

    def __init__(
        self,
        dsn: str,
        subscriber: Subscriber,
        schema: Schema,
        *,
        connect_timeout: int = 2,
        reconnected: Callable[[], None] = lambda: None,
    ) -> None:
        self._dsn = dsn
        self._subscriber = subscriber
        self._schema = schema
        self._connect_timeout = connect_timeout
        self._reconnected = reconnected  # told each time it connects again after a loss (the metrics)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _connect(self) -> psycopg2.extensions.connection:
        conn = psycopg2.connect(
            self._dsn,
            application_name="appconfig-listener",
            connect_timeout=self._connect_timeout,
            # A server that vanished without closing the socket is noticed within seconds.
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"LISTEN {CHANNEL}; LISTEN {SCHEMA_CHANNEL}")
        return conn

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        connected_before = False
        while True:
            try:
                conn = await asyncio.to_thread(self._connect)
            except Exception as exc:  # whatever the failure, it tries again
                if failures == 0:
                    log.warning("listener cannot connect, retrying: %s", str(exc).strip())
                await asyncio.sleep(self.BACKOFF[min(failures, len(self.BACKOFF) - 1)])
                failures += 1
                continue
            if failures:
                log.info("listener connected again after %d attempts", failures)
            if connected_before:
                self._reconnected()
            failures, connected_before = 0, True
            lost = loop.create_future()
            fd = conn.fileno()  # a connection psycopg2 found broken no longer tells it
            loop.add_reader(fd, self._receive, conn, lost)
            self._schema.schema_changed()
            self._subscriber.connected()
            try:
                await lost
                log.warning("listener lost its connection: %s", str(lost.result()).strip())
            finally:
                loop.remove_reader(fd)
                conn.close()
                self._schema.schema_unheard()
                self._subscriber.disconnected()

    def _receive(self, conn: psycopg2.extensions.connection, lost: asyncio.Future) -> None:
        try:
            conn.poll()  # reads what arrived, without blocking
        except psycopg2.Error as exc:
            if not lost.done():
                lost.set_result(exc)
            return
        notifies, conn.notifies = conn.notifies, []
        for notify in notifies:
            if notify.channel == SCHEMA_CHANNEL:
                self._schema.schema_changed()
                continue
            try:
                self._subscriber.notify(notify.payload)
            except Exception:  # one bad notification must not lose the others
                log.exception("notification not handled: %.200r", notify.payload)
