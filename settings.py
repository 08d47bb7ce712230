"""The service's one settings object, read from the environment and `.env`.

Every name below is also the environment variable (case-insensitive) and is
listed with its default in `.env.example`. Create `Settings()` once at the edge
(the CLI, the app factory, the test fixtures) and pass it down.
"""

import re
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# A password in a libpq URI (scheme://user:password@host) or key=value string (password=...), found
# however malformed the rest is: libpq quotes the whole string in some of its errors.
_URI_PASSWORD = re.compile(r"://[^:@/?#\s]*:([^@\s]*)@")
_ORIGIN = re.compile(r"https?://[^/?#\s,]+")
_KEYWORD_PASSWORD = re.compile(r"password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE)

# The speed tricks SPEED_TRICKS_OFF can turn off, so that `python -m bench.tricks` measures what
# each buys (docs/performance.md); CPU pinning has a setting of its own, PIN_CPU.
SPEED_TRICKS = frozenset(
    {
        "log_batching",
        "direct_futures",
        "shared_cursor",
        "batched_ids",
        "held_response",
        "direct_routes",
        "hot_routes_first",
        "trust_recent_connections",
        "request_lines",
        "skip_unwatched",
    }
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=PROJECT_ROOT / ".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default="",
        description="libpq URI of the PostgreSQL 16 database; empty: `make run` and the other dev commands use the "
        "embedded server in .data/, and `python -m api` refuses to start.",
    )
    read_database_urls: str = Field(
        default="",
        description="Comma-separated libpq URIs of PostgreSQL standbys that serve reads while they lag less than "
        "MAX_REPLICA_LAG; empty: every read goes to DATABASE_URL.",
    )
    max_replica_lag: float = Field(
        default=1.0, gt=0, description="Seconds behind the primary a standby may be and still serve reads."
    )
    listen_database_url: str = Field(
        default="",
        description="Where each API process LISTENs for changes, on a connection of its own: a direct server, "
        "never PgBouncer in transaction pooling (LISTEN needs a session). Empty: DATABASE_URL.",
    )
    max_watchers: int = Field(
        default=0,
        ge=0,
        description="Most watchers (held long-polls and open event streams) a process holds; past it a new one "
        "gets 503 with Retry-After. 0: the open-files limit less a reserve for the pools and other requests.",
    )
    max_watchers_per_client: int = Field(
        default=0,
        ge=0,
        description="Most watchers one client address may hold (behind a proxy, all clients share its address: "
        "set it to MAX_WATCHERS there); past it 503 with Retry-After. 0: a quarter of MAX_WATCHERS.",
    )
    heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="Seconds between the comment lines that keep an idle event stream open."
    )
    revisions_keep: int = Field(
        default=100,
        ge=1,
        description="Revisions kept of each application and configuration, however old (revisions_prune's p_keep).",
    )
    revisions_max_age_days: float = Field(
        default=7.0,
        ge=0,
        le=36500,
        description="Days every revision is kept, beyond REVISIONS_KEEP: how long a change-feed cursor or an "
        "event stream's Last-Event-ID stays good.",
    )
    revisions_prune_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Seconds between the prunings this process runs (one process at a time prunes). 0: never "
        "(prune otherwise, e.g. with pg_cron calling revisions_prune()).",
    )
    pool_min_size: int = Field(
        default=16, ge=1, description="Connections the pool opens at start-up (= POOL_MAX_SIZE: no opening under load)."
    )
    pool_max_size: int = Field(
        default=16, ge=1, description="Most connections the pool holds; also the number of database threads."
    )
    pool_timeout: float = Field(
        default=5.0, gt=0, description="Seconds a request waits for a free connection before a 503."
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted, in bytes; larger ones get 413."
    )
    max_head_bytes: int = Field(
        default=32_768,
        ge=4096,
        le=1_048_576,
        description="Largest request head (request line and headers) accepted, in bytes; a larger one gets 431 "
        "and its connection is closed.",
    )
    head_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        le=300,
        description="Seconds a request's head may take to arrive, from the connection or the previous response; "
        "then 408 and the connection is closed.",
    )
    statement_timeout_ms: int = Field(
        default=5000, ge=0, description="Longest a database statement may run, in ms (0: no limit); then 503."
    )
    connect_timeout: int = Field(
        default=2, ge=1, description="Seconds to wait for a new database connection before giving up (503)."
    )
    shutdown_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a stopping server (SIGTERM) gives requests in flight to finish."
    )
    log_level: LogLevel = Field(default="INFO", description="Level of the stdlib root logger.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one readable line per record; json: one JSON object per line, for a log store.",
    )
    metrics: bool = Field(
        default=True, description="Record Prometheus metrics and serve them at /metrics; off: neither."
    )
    metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="0: /metrics is served on PORT with the API; else only on this port (bound on METRICS_HOST), "
        "so that it need not be public.",
    )
    metrics_host: str = Field(default="", description="Address the METRICS_PORT server binds; empty: HOST.")
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the HTTP server binds.")
    workers: int = Field(
        default=1, ge=1, description="uvicorn worker processes; each has its own pool of POOL_MAX_SIZE connections."
    )
    pin_cpu: bool = Field(
        default=True,
        description="With one worker, keep the process on the CPU it starts on: its event loop and database "
        "threads pass Python's GIL to each other thousands of times a second, which costs far less within one "
        "CPU than between two. Off: the kernel places its threads.",
    )
    workers_yield_cpu: bool = Field(
        default=True,
        description="With several workers, run them at Linux's idle CPU priority (SCHED_IDLE): within their "
        "scheduling group (the session's autogroup, or the cgroup) every other process runs first. Several "
        "workers keep the cores busy, and beside them a GET that took 3 ms took up to a second. Other groups, "
        "PostgreSQL's among them, are ordered by the groups' CPU weights (docs/scaling.md). Off where processes "
        "in the API's group must not come before it.",
    )
    cors_allow_origins: str = Field(
        default="",
        description="Comma-separated origins (scheme://host[:port]) whose pages may call the API and open its "
        "event streams, or * for any; empty: no cross-origin access (browsers keep to the same origin).",
    )
    speed_tricks_off: str = Field(
        default="",
        description="For measuring only: comma-separated speed tricks to turn off (log_batching, "
        "direct_futures, shared_cursor, batched_ids, held_response, direct_routes, hot_routes_first, "
        "trust_recent_connections, request_lines, skip_unwatched); "
        "`python -m bench.tricks` sets it. Empty: all on.",
    )
    embedded_dir: Path = Field(
        default=PROJECT_ROOT / ".data",
        description="Where the embedded PostgreSQL keeps its cluster, socket and log.",
    )
    embedded_port: int = Field(
        default=54316, ge=1024, le=65535, description="TCP port of the embedded PostgreSQL on 127.0.0.1."
    )
    embedded_os_user: str = Field(
        default="postgres",
        description="OS user the embedded PostgreSQL runs as when started by root (postgres refuses root).",
    )

    @property
    def read_urls(self) -> list[str]:
        return [url.strip() for url in self.read_database_urls.split(",") if url.strip()]

    @property
    def secrets(self) -> list[str]:
        """The passwords in the database URLs (as written, and percent-decoded), for the logs to mask."""
        found = set()
        for url in (self.database_url, self.listen_database_url, self.read_database_urls):
            for match in (*_URI_PASSWORD.finditer(url), *_KEYWORD_PASSWORD.finditer(url)):
                password = match.group(1).strip("'")
                found |= {password, unquote(password)}
        return sorted(secret for secret in found if secret)

    @property
    def cors_origins(self) -> list[str]:
        return [origin.strip().rstrip("/") for origin in self.cors_allow_origins.split(",") if origin.strip()]

    @model_validator(mode="after")
    def _origins_are_origins(self) -> "Settings":
        for origin in self.cors_origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(f"cors_allow_origins: {origin!r} is not an origin (scheme://host[:port]) or *")
        return self

    def trick(self, name: str) -> bool:
        """Whether the speed trick `name` is on (not named in SPEED_TRICKS_OFF)."""
        assert name in SPEED_TRICKS, name
        return name not in self._tricks_off

    @property
    def _tricks_off(self) -> frozenset[str]:
        return frozenset(name.strip() for name in self.speed_tricks_off.split(",") if name.strip())

    @model_validator(mode="after")
    def _known_tricks(self) -> "Settings":
        unknown = self._tricks_off - SPEED_TRICKS
        if unknown:
            raise ValueError(f"speed_tricks_off names no such trick: {', '.join(sorted(unknown))}")
        return self

    @model_validator(mode="after")
    def _pool_bounds(self) -> "Settings":
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("pool_min_size must not exceed pool_max_size")
        return self

    @model_validator(mode="after")
    def _metrics_port_of_its_own(self) -> "Settings":
        # Said at start-up, not found as a bind error after the pools and the listener have started.
        if self.metrics_port == self.port:
            raise ValueError("metrics_port must differ from port (0 serves /metrics on port itself)")
        return self
