from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runbook_engine.errors import InputError
from runbook_engine.inventory.ranges import expand_host_range


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("web[01:03]", ["web01", "web02", "web03"]),
        ("web[8:10]", ["web8", "web9", "web10"]),
        ("db-[a:c]", ["db-a", "db-b", "db-c"]),
        ("n[1:10:4]", ["n1", "n5", "n9"]),
        ("r[1:2]-[a:b].lan", ["r1-a.lan", "r1-b.lan", "r2-a.lan", "r2-b.lan"]),
        ("plain.example.com", ["plain.example.com"]),
    ],
)
def test_ranges_expand_in_order(pattern, expected):
    assert expand_host_range(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("web[01:3]", "same width"),
        ("web[5:1]", "ends before it starts"),
        ("web[1:5:0]", "positive integer"),
        ("web[1-5]", "malformed host range"),
        ("web[a:10]", "two numbers or two single letters"),
        ("web]1:2[", "malformed host range"),
    ],
)
def test_malformed_ranges_are_refused(pattern, message):
    with pytest.raises(InputError, match=message):
        expand_host_range(pattern)


@given(start=st.integers(0, 300), length=st.integers(0, 40), step=st.integers(1, 7),
       width=st.integers(1, 4))
def test_numeric_ranges_match_python_range(start, length, step, width):
    end = start + length
    begin_text = str(start).zfill(width)
    end_text = str(end).zfill(len(begin_text)) if begin_text.startswith("0") else str(end)
    if begin_text.startswith("0") and len(begin_text) > 1 and len(end_text) != len(begin_text):
        return  # the end does not fit the start's width: refused, tested above
    names = expand_host_range(f"n[{begin_text}:{end_text}:{step}].lan")
    padded = len(begin_text) if begin_text.startswith("0") and len(begin_text) > 1 else 0
    assert names == [f"n{str(i).zfill(padded)}.lan" for i in range(start, end + 1, step)]
