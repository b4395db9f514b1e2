"""The run's compact structures agree with the Python containers they replace."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from dsobridge.sync.keyindex import KeyIndex, KeySet, MoneySums

keys = st.integers(min_value=0, max_value=(1 << 62) - 1)
amounts = st.decimals(min_value=-(10**12), max_value=10**12, allow_nan=False, allow_infinity=False, places=4)


@given(st.lists(keys), st.lists(keys))
def test_keyset_is_a_set(added, asked):
    ks = KeySet()
    for key in added:
        ks.add(key)
    assert len(ks) == len(added)
    assert [key in ks for key in asked + added] == [key in set(added) for key in asked + added]


def test_keyset_sorts_once_keys_arrive_out_of_order():
    ks = KeySet()
    for key in (5, 3, 9, 1):
        ks.add(key)
    assert 3 in ks and 9 in ks and 4 not in ks
    ks.add(2)  # adding after a look-up still finds everything
    assert 2 in ks and 5 in ks


@given(st.lists(st.tuples(st.sampled_from(["1001", "1002", "K-7"]), amounts)))
def test_money_sums_are_exact(pairs):
    sums, expected = MoneySums(), {}
    for name, amount in pairs:
        sums.add(name, amount)
        expected[name] = expected.get(name, Decimal(0)) + amount
    assert dict(sums) == expected
    assert set(sums) == set(expected) and len(sums) == len(expected)


def test_money_sums_keep_two_decimals_and_finer_amounts():
    sums = MoneySums()
    sums.add("1", Decimal("100.10"))
    sums.add("1", Decimal("-0.10"))
    sums.add("2", Decimal("0.005"))
    sums.add("2", Decimal("1E+2"))
    assert str(sums["1"]) == "100.00"
    assert sums["2"] == Decimal("100.005")
    assert sums.get("3") is None


def test_key_index_marks_what_was_seen():
    index = KeyIndex([(1, 10), (4, 40), (9, 90)])
    assert index.previous(4) == 40 and index.previous(5) is None
    assert list(index.unseen()) == [1, 9]
