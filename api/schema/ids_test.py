import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from ulid import ULID

from api.schema.ids import new_id
from settings import PROJECT_ROOT


def test_ids_are_canonical_ulids_of_now():
    before = time.time()
    value = new_id()

    assert len(value) == 26 and value == value.upper()
    assert abs(ULID.from_str(value).timestamp - before) < 1


def test_ids_strictly_increase_even_within_one_millisecond_and_across_threads():
    sequential = [new_id() for _ in range(5000)]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(lambda _: new_id(), range(5000)))

    assert sequential == sorted(sequential) and len(set(sequential)) == 5000
    assert len(set(concurrent) | set(sequential)) == 10000
    assert min(concurrent) > sequential[-1]


def test_a_forked_process_never_repeats_its_parent_s_randomness():
    # In a fresh interpreter: forking a test process that runs threads is unsafe.
    probe = """
import os, time
from api.schema.ids import new_id
from settings import PROJECT_ROOT
new_id()  # random bytes in store
read, write = os.pipe()
if os.fork() == 0:
    time.sleep(0.002)  # a later millisecond: fresh random bytes, not the last id + 1
    os.write(write, new_id().encode())
    os._exit(0)
os.wait()
print(os.read(read, 26).decode()[10:], new_id()[10:])  # the random parts
"""
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    in_child, in_parent = result.stdout.split()

    assert in_child != in_parent
