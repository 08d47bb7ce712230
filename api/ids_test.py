import time
from concurrent.futures import ThreadPoolExecutor

from ulid import ULID

from api.ids import new_id


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
