"""A streamed list holds a page of a few MiB per reader, however large its rows: measured on the
real process's resident memory while slow readers take an application's large configurations."""

import asyncio
from pathlib import Path

import httpx

from testing.live_api import psql

LARGE = 900_000  # bytes of each config: 24 of them are 21 MB, as one page before pages were bounded


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_slow_readers_of_large_configurations_hold_a_bounded_page_each(migrated_dsn, launch_api):
    process, base, _ = launch_api(migrated_dsn, LOG_LEVEL="WARNING")
    app_id = httpx.post(f"{base}/api/v1/applications", json={"name": "large"}).json()["id"]
    psql(migrated_dsn, "SELECT config_create(%s, 'c' || n, jsonb_build_object('blob', repeat('x', %s)))"
                       " FROM generate_series(1, 24) AS n", app_id, LARGE)  # fmt: skip
    path = f"{base}/api/v1/applications/{app_id}/configurations"
    httpx.get(path)  # once, so that what any read leaves behind is there before the measure
    before = rss_mb(process.pid)

    async def slow_reader(client: httpx.AsyncClient) -> int:
        received = 0
        async with client.stream("GET", path) as response:
            async for chunk in response.aiter_raw(65_536):
                received += len(chunk)
                await asyncio.sleep(0.005)  # slower than the server writes
        return received

    async def readers() -> tuple[list[int], float]:
        peak = 0.0
        async with httpx.AsyncClient(timeout=60) as client:
            tasks = [asyncio.create_task(slow_reader(client)) for _ in range(4)]
            while not all(task.done() for task in tasks):
                peak = max(peak, rss_mb(process.pid))
                await asyncio.sleep(0.05)
            return [task.result() for task in tasks], peak

    received, peak = asyncio.run(readers())

    assert all(size > 24 * LARGE for size in received)
    # Four readers of 21 MB each grew the process by some 390 MB here when a page held every row;
    # with pages of about 1 MiB, by some 60.
    assert peak - before < 100, f"grew by {peak - before:.0f} MB"
