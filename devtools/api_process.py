"""`python -m api` in a process of its own, for the tests and the bench."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from settings import PROJECT_ROOT


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(base: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    """Return once `process` answers /healthz at `base`; RuntimeError, with its log, if it exits or
    `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the API did not start: {log.read_text()}")


def _least_cpu_share(session_leader: int) -> None:
    """The autogroup of `session_leader`'s session at nice 19: every process in another group runs
    first when the cores are busy. Where Linux has no autogroups, nothing changes."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{session_leader}/autogroup").write_text("19")


class ApiProcess:
    """The API on `dsn`, serving on a free port with `settings` as its environment; its output goes to `log`.

    `command` (after the interpreter) serves something else the same way, given DATABASE_URL and PORT;
    `cwd`, another checkout of the project. `least_cpu_share`: in a session of its own, whose CPU
    share Linux makes the least of all (its autogroup at nice 19), as docs/scaling.md advises for a
    server beside PostgreSQL. A context manager that stops it on exit.
    """

    def __init__(
        self,
        dsn: str,
        log: Path,
        *,
        command: tuple[str, ...] = ("-m", "api"),
        cwd: Path = PROJECT_ROOT,
        start_timeout: float = 30,
        least_cpu_share: bool = False,
        **settings: str,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**os.environ, "DATABASE_URL": dsn, "PORT": str(self.port), **settings}
        with log.open("w") as sink:
            self.process = subprocess.Popen(
                [sys.executable, *command],
                env=env,
                stdout=sink,
                stderr=sink,
                cwd=cwd,
                start_new_session=least_cpu_share,
            )
        if least_cpu_share:
            _least_cpu_share(self.process.pid)
        try:
            wait_until_serving(self.base, self.process, log, start_timeout)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM, as an orchestrator stops it, and wait for the exit."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)

    def __enter__(self) -> "ApiProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
