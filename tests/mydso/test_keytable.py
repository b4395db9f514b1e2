"""The duplicate check's table of key hashes: exact, growing, and smaller than a set."""

from __future__ import annotations

import tracemalloc

from dsobridge.mydso.csvkeys import KeyTable


def test_key_table_is_exact_and_grows():
    table = KeyTable()
    keys = [0, 1, -1, 2**63 - 1, -(2**63), 4096, 8192] + [hash(n * 0x9E3779B97F4A7C15) for n in range(10_000)]
    added = [table.add(k) for k in keys]
    # 0 is stored as 1: the two are one key for the table (one more 64-bit value that may collide)
    assert added[:7] == [True, False, True, True, True, True, True]
    assert [table.add(k) for k in keys] == [False] * len(keys)
    assert table.add(12345) is True
    assert len(table.table) == 1 << 15  # 10,008 keys: doubled from 4,096 slots while staying <= half full


def test_key_table_sized_for_the_expected_keys_does_not_grow():
    table = KeyTable(expected=10_000)
    size = len(table.table)
    assert size == 1 << 15  # the first power of two whose half holds 10,000
    for k in range(1, 10_001):
        assert table.add(hash((k, "x")))
    assert len(table.table) == size


def test_key_table_memory_per_key_beside_a_set():
    keys = [hash(n * 0x9E3779B97F4A7C15) for n in range(1, 100_001)]

    def peak(build):
        tracemalloc.start()
        try:
            kept = build()
            return tracemalloc.get_traced_memory()[1], kept
        finally:
            tracemalloc.stop()

    def fill_table():
        table = KeyTable()
        for k in keys:
            table.add(k)
        return table

    def fill_set():
        return {k + 0 for k in keys}  # new int objects, as hash() of each row's key makes

    table_peak, table = peak(fill_table)
    set_peak, kept = peak(fill_set)
    # 100,000 keys: 2**18 slots of 8 bytes, and the 2**17 it grew from still held while doubling
    assert len(table.table) == 1 << 18
    assert 3 * 2**20 <= table_peak < 3 * 2**20 + 50_000
    assert set_peak > 2 * table_peak
    assert len(kept) == 100_000
