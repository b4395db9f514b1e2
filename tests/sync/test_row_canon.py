"""The generated per-layout hash text (``engine._canon_function``) is exactly ``row_hash``'s, on any row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dsobridge.sync.engine import _canon_function, _hash_and_json
from dsobridge.sync.mapping import row_hash

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(),
)
# keys that would break generated source if they were pasted into it
keys = st.one_of(
    st.text(min_size=1, max_size=6), st.sampled_from(["{a}", '"', "'''", "\\", "x\ny", "{", "}}"])
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=8))
def test_hash_alone_is_row_hash_on_any_row(row):
    assert _hash_and_json(row, False) == (row_hash(row), None)


def test_canon_text_and_layouts():
    row = {"b": None, "a": Decimal("1.50"), "{c}": date(2026, 11, 20), 'q"': True, "n": 0}
    canon = _canon_function(tuple(row))
    assert canon(row) == 'a=1.50\x1fb=\x1fn=0\x1fq"=True\x1f{c}=2026-11-20'
    assert _canon_function(())({}) == ""
    # the same keys in another order give another layout, with the same text
    assert _canon_function(tuple(reversed(row)))(row) == canon(row)
