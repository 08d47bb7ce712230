"""The database gateway: one method per SQL function, the only place that holds SQL text.

Every call of a function in db/functions/ goes through a `Store`, and every database
error leaves it as one of the service's own (api.db.errors.translate): callers see
`NotFound`, `Conflict`, `PreconditionFailed` with the current ETag, `ServiceUnavailable`,
`BadRequest`, never the driver.

Reads of one resource (`app_get`, `config_get`, ...) return it as the function built it,
with its ETag (`api.etags.Current`), ready to send; a revalidating read of a configuration may
return the ETag alone, the database having said that the row has not changed (api.db.versions).
STABLE reads go to a standby when one is fresh (api.db.replicas); `Store.fresh` is the same
gateway with every read on the primary, for what must see the latest commit (a long-poll, an
event stream's first state). Writes always go to the primary.
"""

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

from api.db.errors import DATABASE_ERRORS, PRECONDITION_FAILED, sqlstate, translate
from api.db.pool import Database
from api.db.replicas import Pinned, Reads
from api.db.versions import Versions
from api.etags import Current, etag, none_match
from api.schema.errors import NotFound, PreconditionFailed

APP_GET = "SELECT app_get(%s)"
CONFIG_GET = "SELECT config_get(%s)"
CONFIG_GET_IF_MODIFIED = "SELECT * FROM config_get_if_modified(%s, %s)"


class Store:
    """The SQL functions, as methods; `reads` spreads the STABLE reads (the primary alone by default)."""

    def __init__(self, primary: Database, reads: Reads | None = None, versions: Versions | None = None) -> None:
        self._primary = primary
        self._reads = reads if reads is not None else Reads(primary)
        self.versions = versions if versions is not None else Versions(self._reads.connections_opened)
        # Every read on the primary: what a standby, however fresh, may not have yet.
        self.fresh = self if reads is None or not reads.standbys else Store(primary, versions=self.versions)

    # -- what the listener tells of the migrations (api.db.listener.Schema) ----------------------

    def schema_changed(self) -> None:
        """What the functions return may have changed: forget every row version now, and again once
        no standby that had not replayed the change may serve a read (`max_lag` on), since until
        then one may answer with the old document and have its version remembered."""
        self.versions.forget()
        if self._reads.standbys:
            asyncio.get_running_loop().call_later(self._reads.max_lag, self.versions.forget)

    def schema_unheard(self) -> None:
        self.versions.pause()

    # -- one resource ---------------------------------------------------------------------------

    async def app_get(self, application_id: str, *, if_none_match: str | None = None) -> Current:
        """The application; `if_none_match` lets a standby's answer that differs be confirmed."""
        return Current.of(await self._read(APP_GET, (application_id,), if_none_match))

    async def app_get_by_name(self, name: str, *, if_none_match: str | None = None) -> Current:
        return Current.of(await self._read("SELECT app_get_by_name(%s)", (name,), if_none_match))

    async def config_get(self, configuration_id: str, *, if_none_match: str | None = None) -> Current:
        """The configuration; or, when `if_none_match` names the document this process last read of
        it and the row is still that version, that document's ETag alone (`body` None): the database
        then builds and sends nothing (api.db.versions)."""
        return await self._revalidated(CONFIG_GET, CONFIG_GET_IF_MODIFIED, (configuration_id,), if_none_match)

    async def config_get_by_name(
        self, application_name: str, configuration_name: str, *, if_none_match: str | None = None
    ) -> Current:
        return await self._revalidated(
            "SELECT config_get_by_name(%s, %s)",
            "SELECT * FROM config_get_by_name_if_modified(%s, %s, %s)",
            (application_name, configuration_name),
            if_none_match,
        )

    async def _revalidated(
        self, read: str, if_modified: str, params: tuple[str, ...], if_none_match: str | None
    ) -> Current:
        """`read` with `params`; with If-None-Match, `if_modified`, given the version this process
        knows of the document that tag names (if any), and remembering the version it returns."""
        if if_none_match is None:  # a first read: the plain function, which costs less for a large document
            return Current.of(await self._read(read, params, None))
        key = (read, *params)
        known = self.versions.matching(key, if_none_match)
        epoch = self.versions.epoch()

        def settled(row: tuple) -> bool:  # a standby's "unchanged", or the document the client has
            return row[0] is None or none_match(if_none_match, etag(row[0]))

        text, version = await translated(
            self._reads.fetch_row(if_modified, (*params, known and known.version), settled=settled)
        )
        if text is None and self.versions.epoch() != epoch:
            # This very read may have gone over a new connection, to a server whose history went back,
            # or run the functions of a migration: a version from before vouches for neither.
            text, version = await translated(self._reads.fetch_row(if_modified, (*params, None)))
        if text is None:
            return Current(None, known.etag)
        current = Current.of(text)
        self.versions.remember(key, current.etag, version, epoch)
        return current

    # -- lists ----------------------------------------------------------------------------------

    async def app_list(self, after: str | None, limit: int, name: str | None) -> list[str]:
        """Up to `limit` applications after `after`, each as JSON text."""
        return await translated(self._reads.fetch_values("SELECT app_list(%s, %s, %s)", (after, limit, name)))

    async def config_list(
        self, application_id: str, after: str | None, limit: int, name: str | None, max_bytes: int | None = None
    ) -> list[str]:
        """Up to `limit` of the application's configurations after `after`, each as JSON text, and no
        more once they take `max_bytes`."""
        return await translated(
            self._reads.fetch_values(
                "SELECT config_list(%s, %s, %s, %s, %s)", (application_id, after, limit, name, max_bytes)
            )
        )

    # -- history --------------------------------------------------------------------------------

    async def app_revisions(self, application_id: str, before: int | None, limit: int) -> str:
        """A JSON array of up to `limit` of the application's revisions before `before`, newest first."""
        return await self._read("SELECT app_revisions(%s, %s, %s)", (application_id, before, limit), None)

    async def config_revisions(self, configuration_id: str, before: int | None, limit: int) -> str:
        return await self._read("SELECT config_revisions(%s, %s, %s)", (configuration_id, before, limit), None)

    async def app_revision(self, application_id: str, revision: int) -> str:
        """One revision of the application, with its state."""
        return await self._read("SELECT app_revision(%s, %s)", (application_id, revision), None)

    async def config_revision(self, configuration_id: str, revision: int) -> str:
        return await self._read("SELECT config_revision(%s, %s)", (configuration_id, revision), None)

    async def app_diff(self, application_id: str, from_revision: int, to_revision: int | None) -> str:
        """The JSON Patch from one revision of the application to another (None: to its current state)."""
        return await self._read("SELECT app_diff(%s, %s, %s)", (application_id, from_revision, to_revision), None)

    async def config_diff(self, configuration_id: str, from_revision: int, to_revision: int | None) -> str:
        return await self._read("SELECT config_diff(%s, %s, %s)", (configuration_id, from_revision, to_revision), None)

    async def change_list(self, after: int | None, limit: int, application_id: str | None = None) -> str:
        """A JSON array of up to `limit` changes after revision `after`, in order; on the primary,
        which alone knows whether a cursor is beyond every revision (`Gone`)."""
        return await translated(
            self._primary.fetch_value("SELECT change_list(%s, %s, %s)", (after, limit, application_id), idempotent=True)
        )

    async def revision_latest(self) -> int:
        """The newest revision, on the primary."""
        return await translated(self._primary.fetch_value("SELECT revision_latest()", (), idempotent=True))

    async def revisions_prune(self, keep: int, max_age_seconds: float, batch: int) -> tuple[int, int]:
        """Prune the revisions past retention, up to `batch` of them; (looked at, deleted)."""
        return await translated(
            self._primary.fetch_row(
                "SELECT * FROM revisions_prune(%s, make_interval(secs => %s), %s)", (keep, max_age_seconds, batch)
            )
        )

    def pages(self) -> "Pages":
        """The pages of one streamed list, all from one server: none from an older snapshot."""
        return Pages(self._reads.pinned())

    # -- writes ---------------------------------------------------------------------------------

    async def app_create(self, name: str, comments: str | None, application_id: str) -> str:
        return await self._write("SELECT app_create(%s, %s, %s)", (name, comments, application_id))

    async def app_update(
        self,
        application_id: str,
        name: str,
        comments: str | None,
        if_match: str | None,
        if_none_match: str | None = None,
    ) -> str:
        return await self._write(
            "SELECT app_update(%s, %s, %s, %s, %s)",
            (application_id, name, comments, if_match, if_none_match),
            (APP_GET, application_id),
        )

    async def app_delete(self, application_id: str, if_match: str | None, if_none_match: str | None = None) -> None:
        await self._write(
            "SELECT app_delete(%s, %s, %s)", (application_id, if_match, if_none_match), (APP_GET, application_id)
        )

    async def config_create(
        self, application_id: str, name: str, config: str, comments: str | None, configuration_id: str
    ) -> str:
        """`config` is JSON text, kept as sent (numbers exact) on its way to jsonb."""
        return await self._write(
            "SELECT config_create(%s, %s, %s, %s, %s)", (application_id, name, config, comments, configuration_id)
        )

    async def config_update(
        self,
        configuration_id: str,
        name: str,
        config: str,
        comments: str | None,
        application_id: str | None,
        if_match: str | None,
        if_none_match: str | None = None,
    ) -> str:
        return await self._write(
            "SELECT config_update(%s, %s, %s, %s, %s, %s, %s)",
            (configuration_id, name, config, comments, application_id, if_match, if_none_match),
            (CONFIG_GET, configuration_id),
        )

    async def app_revert(
        self, application_id: str, revision: int, if_match: str | None, if_none_match: str | None = None
    ) -> str:
        """Make the application as revision `revision` left it current again (recreated if deleted)."""
        return await self._write(
            "SELECT app_revert(%s, %s, %s, %s)",
            (application_id, revision, if_match, if_none_match),
            (APP_GET, application_id),
        )

    async def config_revert(
        self, configuration_id: str, revision: int, if_match: str | None, if_none_match: str | None = None
    ) -> str:
        return await self._write(
            "SELECT config_revert(%s, %s, %s, %s)",
            (configuration_id, revision, if_match, if_none_match),
            (CONFIG_GET, configuration_id),
        )

    async def config_delete(
        self, configuration_id: str, if_match: str | None, if_none_match: str | None = None
    ) -> None:
        await self._write(
            "SELECT config_delete(%s, %s, %s)",
            (configuration_id, if_match, if_none_match),
            (CONFIG_GET, configuration_id),
        )

    # -- the calls ------------------------------------------------------------------------------

    async def _read(self, statement: str, params: tuple[Any, ...], if_none_match: str | None) -> str:
        return await translated(self._reads.fetch_value(statement, params, if_none_match=if_none_match))

    async def _write(self, statement: str, params: Sequence[Any], current: tuple[str, str] | None = None) -> Any:
        """Run a write on the primary. On PT412 (If-Match did not match), a 412 carrying the ETag
        that `current` (a read statement and the resource's id) finds now."""
        try:
            return await self._primary.fetch_value(statement, params)
        except DATABASE_ERRORS as exc:
            if current is None or sqlstate(exc) != PRECONDITION_FAILED:
                raise translate(exc) from exc
            failed = exc
        statement, resource_id = current
        try:
            now = await translated(self._primary.fetch_value(statement, (resource_id,), idempotent=True))
        except NotFound:  # If-Match on what no longer exists (a revert that would recreate it)
            raise PreconditionFailed(failed.diag.message_primary, sqlstate=PRECONDITION_FAILED) from failed
        raise PreconditionFailed(failed.diag.message_primary, sqlstate=PRECONDITION_FAILED, etag=etag(now)) from failed


class Pages:
    """The pages of one streamed list (api.db.replicas.Pinned): `*_list_page` as methods."""

    def __init__(self, pinned: Pinned) -> None:
        self._pinned = pinned

    async def app_list_page(self, after: str | None, limit: int, name: str | None, max_bytes: int) -> str:
        """A JSON array of up to `limit` applications after `after`, and no more once they take `max_bytes`."""
        return await translated(
            self._pinned.fetch_value("SELECT app_list_page(%s, %s, %s, %s)", (after, limit, name, max_bytes))
        )

    async def config_list_page(
        self, application_id: str, after: str | None, limit: int, name: str | None, max_bytes: int
    ) -> tuple[str, str | None]:
        """A JSON array of up to `limit` configurations after `after`, no more once they take `max_bytes`,
        and the id of its last."""
        return await translated(
            self._pinned.fetch_row(
                "SELECT * FROM config_list_page(%s, %s, %s, %s, %s)", (application_id, after, limit, name, max_bytes)
            )
        )


async def translated[T](call: Awaitable[T]) -> T:
    """`call`'s outcome, a database error raised as the service's own (api.db.errors.translate)."""
    try:
        return await call
    except DATABASE_ERRORS as exc:
        raise translate(exc) from exc
