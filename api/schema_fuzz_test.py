"""Schemathesis against the live /openapi.json: no server error, no response that breaks the document.

A bounded run (positive and negative cases, every check, a fixed seed) in the suite;
`make fuzz` runs the same with many more examples and a fresh seed.
"""

import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from api.embedded_test import free_port
from api.settings import PROJECT_ROOT

MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "15")
SEED = os.environ.get("FUZZ_SEED", "1")


@pytest.fixture
def live_server(migrated_dsn):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": migrated_dsn, "PORT": str(port), "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([sys.executable, "-m", "api"], env=env, cwd=PROJECT_ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(15)


def test_schemathesis_finds_no_failure(live_server):
    schemathesis = shutil.which("schemathesis", path=os.path.dirname(sys.executable))
    command = [schemathesis, "run", f"{live_server}/openapi.json", "--checks", "all"]
    command += ["--max-examples", MAX_EXAMPLES, "--generation-database", "none"]
    if SEED != "random":
        command += ["--seed", SEED]

    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)

    assert result.returncode == 0, result.stdout[-6000:]
    assert " passed" in result.stdout
