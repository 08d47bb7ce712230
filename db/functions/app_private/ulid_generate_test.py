import time

from ulid import ULID


def test_ids_are_canonical_ulids_of_the_current_time(call):
    before = time.time()
    value = call("app_private.ulid_generate")
    after = time.time()

    assert len(value) == 26 and value == value.upper()
    assert str(ULID.from_str(value)) == value
    assert before - 0.002 <= ULID.from_str(value).timestamp <= after + 0.002


def test_ids_are_unique_and_ordered_by_time(call, rows):
    [[values]] = rows("SELECT array_agg(app_private.ulid_generate()) FROM generate_series(1, 2000)")
    first = call("app_private.ulid_generate")
    time.sleep(0.002)
    second = call("app_private.ulid_generate")

    assert len(set(values)) == 2000
    assert first[:10] < second[:10]  # the time part
