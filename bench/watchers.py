"""Watchers for `make bench`: thousands of long-polls and an event stream, on raw asyncio sockets,
and what the server's process holds for them (`held_and_woken`).

An HTTP client library would cost more than the server being measured; a long-poll here is
one connection, one request written, and the time its status line arrives.
"""

import asyncio
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from bench.harness import rss_kb, until_idle
from devtools.api_process import ApiProcess

WATCHERS = 10_000  # long-polls held at once, by default


@dataclass
class Woken:
    """How the long-polls ended after the change: per status, and the times from the change (s)."""

    statuses: dict[int, int]
    p50_s: float
    max_s: float


class LongPolls:
    """`count` long-polls of `path` held open against `base`, each with If-None-Match `etag`."""

    def __init__(self, base: str, path: str, etag: str, count: int, wait: int = 300) -> None:
        url = urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.request = (
            f"GET {path}?wait={wait} HTTP/1.1\r\nHost: {url.netloc}\r\nIf-None-Match: {etag}\r\n\r\n"
        ).encode()
        self.count = count
        self.answers: list[tuple[float, int]] = []
        self._tasks: list[asyncio.Task] = []
        self._sent = 0
        self._all_sent = asyncio.Event()

    async def open(self, at_once: int = 250) -> None:
        """Send every request, `at_once` connections at a time (a listen backlog is finite), and
        return once each is connected and sent: none still retrying its handshake."""
        for start in range(0, self.count, at_once):
            batch = [asyncio.create_task(self._one()) for _ in range(min(at_once, self.count - start))]
            self._tasks += batch
            await asyncio.sleep(0.05)
        await asyncio.wait_for(self._all_sent.wait(), 120)

    async def _one(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(self.request)
            await writer.drain()
            self._sent += 1
            if self._sent == self.count:
                self._all_sent.set()
            status_line = await reader.readline()
            self.answers.append((time.monotonic(), int(status_line.split()[1])))
        finally:
            writer.close()

    async def woken(self, change: Callable[[], None], timeout: float = 30) -> Woken:
        """Make the change (a blocking call, in a thread) and wait for every answer. The client's
        own collector is off meanwhile: its pauses over 10,000 connections are not the server's."""
        gc.disable()
        try:
            started = time.monotonic()
            await asyncio.to_thread(change)
            await asyncio.wait_for(asyncio.gather(*self._tasks), timeout)
        finally:
            gc.enable()
        times = sorted(at - started for at, _ in self.answers)
        statuses: dict[int, int] = {}
        for _, status in self.answers:
            statuses[status] = statuses.get(status, 0) + 1
        return Woken(statuses, statistics.median(times), times[-1])


async def stream_latencies(base: str, application_id: str, change: Callable[[int], None], count: int) -> list[float]:
    """Seconds from calling `change(i)` (blocking, in a thread) to its event on the application's stream."""
    url = urlsplit(base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(f"GET /api/v1/applications/{application_id}/events HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode())
    latencies = []
    try:
        await reader.readuntil(b"event: subscribed\n")
        for i in range(count):
            started = time.monotonic()
            await asyncio.to_thread(change, i)
            await reader.readuntil(b"event: updated\n")
            latencies.append(time.monotonic() - started)
    finally:
        writer.close()
    return latencies


def held_and_woken[T](
    api: ApiProcess, path: str, count: int, change: Callable[[], None], meanwhile: Callable[[], T]
) -> tuple[float, Woken, T]:
    """`count` long-polls of `path` held on `api`, `meanwhile` called while they wait, then `change` made
    (both blocking, in a thread): the server's RSS per held watcher (KB), how they were woken, and what
    `meanwhile` returned. The RSS is read with the server idle, before and while they are held."""
    pid = api.process.pid
    etag = httpx.get(api.base + path).headers["etag"]
    until_idle(pid)
    idle = rss_kb(pid, "VmRSS")

    async def hold_then_wake() -> tuple[int, T, Woken]:
        polls = LongPolls(api.base, path, etag, count)
        await polls.open()
        await asyncio.to_thread(until_idle, pid)
        holding = rss_kb(pid, "VmRSS")
        during = await asyncio.to_thread(meanwhile)
        return holding, during, await polls.woken(change)

    holding, during, woken = asyncio.run(hold_then_wake())
    return (holding - idle) / count, woken, during
