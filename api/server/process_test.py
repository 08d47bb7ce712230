"""What the service does to its process: here, the open-files limit and the CPU it keeps to (signals
are tested on a served API in watch_test.py)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from settings import PROJECT_ROOT


def test_the_soft_open_files_limit_is_raised_to_the_hard_limit():
    # In a process of its own: the limit is the whole process's.
    probe = (
        "import resource; from api.server.process import raise_open_files_limit; "
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE); "
        "resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard)); "
        "raise_open_files_limit(); "
        "print(resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard), hard > 256)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "True"]


def _cpus_of_each_thread(pid: int) -> set[str]:
    return {
        re.search(r"^Cpus_allowed_list:\s*(\S+)", status.read_text(), re.M)[1]
        for status in Path(f"/proc/{pid}/task").glob("*/status")
    }


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to pin")
def test_a_single_worker_keeps_every_thread_on_one_cpu(launch_api, migrated_dsn):
    process, base, _ = launch_api(migrated_dsn)
    httpx.get(f"{base}/api/v1/applications?limit=1").raise_for_status()  # database threads, made after the pin

    [cpus] = _cpus_of_each_thread(process.pid)
    assert cpus.isdigit()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to pin")
def test_pin_cpu_off_leaves_the_threads_to_the_kernel(launch_api, migrated_dsn):
    process, base, _ = launch_api(migrated_dsn, PIN_CPU="false")
    httpx.get(f"{base}/api/v1/applications?limit=1").raise_for_status()

    [cpus] = _cpus_of_each_thread(process.pid)
    assert not cpus.isdigit()  # a range or list: every CPU the test process may use


def _policies_of_each_thread(pid: int) -> set[int]:
    return {os.sched_getscheduler(int(task.name)) for task in Path(f"/proc/{pid}/task").iterdir()}


def _workers(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="no SCHED_IDLE: not Linux")
@pytest.mark.parametrize(("setting", "policy"), [("true", "SCHED_IDLE"), ("false", "SCHED_OTHER")])
def test_several_workers_run_at_idle_cpu_priority_unless_told_not_to(launch_api, migrated_dsn, setting, policy):
    process, base, _ = launch_api(migrated_dsn, WORKERS="2", WORKERS_YIELD_CPU=setting)
    for _ in range(20):  # each worker serves some, so that its database threads exist too
        httpx.get(f"{base}/api/v1/applications?limit=1").raise_for_status()

    workers = _workers(process.pid)
    assert len(workers) == 2
    assert all(_policies_of_each_thread(worker) == {getattr(os, policy)} for worker in workers)
    assert _policies_of_each_thread(process.pid) == {os.SCHED_OTHER}  # the supervisor is left alone


def test_a_single_worker_keeps_its_cpu_priority(launch_api, migrated_dsn):
    process, base, _ = launch_api(migrated_dsn)
    httpx.get(f"{base}/api/v1/applications?limit=1").raise_for_status()

    assert _policies_of_each_thread(process.pid) == {os.SCHED_OTHER}
