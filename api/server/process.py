"""What the API does to the process it serves in: signals, open files, its CPU.

Each touches the whole process: the signal handlers are changed only in a server's main thread
(a test client runs the app in a thread of the test process, which must be left alone).
"""

import asyncio
import logging
import os
import resource
import signal
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def close_on_signal(close: Callable[[], None]) -> Callable[[], None]:
    """Call `close` in the running loop as soon as SIGTERM or SIGINT arrives: the watch hub's, which
    answers the long-polls and ends the streams. Returns what restores the previous handlers.

    The server waits for every open request before the lifespan ends, so closing them only
    there would make a stop wait out everyone's `wait`. The server's own handlers still run.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach the main thread only (a TestClient runs the app in another)
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handle(sig: int, frame: object) -> None:
        loop.call_soon_threadsafe(close)
        handler = previous[sig]
        if callable(handler):
            handler(sig, frame)
        elif handler == signal.SIG_DFL:
            signal.signal(sig, handler)
            signal.raise_signal(sig)

    for sig in previous:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is handle:
                signal.signal(sig, handler)

    return restore


def raise_open_files_limit() -> None:
    """Every watcher holds a socket: take all the open files the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            log.warning("open files limit stays %d: %s", soft, exc)


def pin_to_one_cpu() -> int | None:
    """Keep every thread of this process on the CPU the calling one runs on; returns that CPU
    (None where the system cannot: not Linux, or a single CPU anyway).

    Only one thread runs Python at a time (the GIL), so the process gains little from a second
    CPU, while each time the GIL passes between threads on two CPUs the waker pays for waking
    the other core. Measured on 2 cores, GET by id: 2,150-2,600/s unpinned, 3,400-3,800/s pinned,
    a third less CPU per request. Threads made later inherit it from the one that makes them.
    """
    if not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2:
        return None
    cpu = int(Path("/proc/thread-self/stat").read_text().rsplit(")", 1)[1].split()[36])  # "processor"
    for task in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(task), {cpu})
        except OSError as exc:  # a thread that just ended, or a CPU the container may not use
            log.warning("thread %s stays on every CPU: %s", task, exc)
    return cpu


def yield_cpu() -> bool:
    """Run every thread of this process, and those it makes later, at the idle CPU priority
    (SCHED_IDLE): they take a core only when nothing else in their scheduling group (the session's
    autogroup, or the cgroup) wants it. Returns whether it could (Linux).

    For several workers, which keep every core busy: on 2 cores, two workers, GET by id at 16
    connections, p99 went from 0.3-0.9 s (p50 3.4 ms) to 11-12 ms, with 10 % more requests a
    second, the client sharing their group. Processes in other groups, PostgreSQL's among them,
    are ordered by the groups' CPU weights, which this does not change (docs/scaling.md).
    """
    if not hasattr(os, "SCHED_IDLE"):
        return False
    for task in os.listdir("/proc/self/task"):
        try:
            os.sched_setscheduler(int(task), os.SCHED_IDLE, os.sched_param(0))
        except OSError as exc:  # a thread that just ended
            log.warning("thread %s keeps its CPU priority: %s", task, exc)
    return True
