"""datastream.thinning: at most max_points actual datapoints, in time order, extremes kept."""

from __future__ import annotations

import decimal
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datastream.exceptions import InvalidArgument
from datastream.thinning import ALGORITHMS, MIN_POINTS, thin


def noisy_signal(count: int, seed: int = 1) -> tuple[list[int], list[float]]:
    rng = random.Random(seed)
    times = [1_600_000_000 + 60 * i for i in range(count)]
    values = [math.sin(i / 50) * 10 + rng.gauss(0, 1) for i in range(count)]
    return times, values


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("max_points", [4, 5, 7, 8, 9, 100, 999])
def test_thin_returns_at_most_max_points_ascending_unique_indices(algorithm, max_points):
    times, values = noisy_signal(5000)
    chosen = thin(times, values, max_points, algorithm)
    assert 2 <= len(chosen) <= max_points
    assert chosen == sorted(set(chosen))
    assert all(0 <= index < len(times) for index in chosen)


@pytest.mark.parametrize("algorithm", ["m4", "minmaxlttb"])
@pytest.mark.parametrize("max_points", [4, 6, 8, 100, 101, 1000])
def test_m4_and_minmaxlttb_keep_the_minimum_and_the_maximum(algorithm, max_points):
    for seed in range(5):
        times, values = noisy_signal(3000, seed)
        chosen = thin(times, values, max_points, algorithm)
        assert values.index(min(values)) in chosen
        assert values.index(max(values)) in chosen


def test_lttb_keeps_the_first_and_the_last_datapoint():
    times, values = noisy_signal(2000)
    chosen = thin(times, values, 50, "lttb")
    assert chosen[0] == 0 and chosen[-1] == 1999


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_series_within_budget_is_returned_whole(algorithm):
    times, values = noisy_signal(10)
    assert thin(times, values, 10, algorithm) == list(range(10))
    assert thin(times, values, 1000, algorithm) == list(range(10))
    assert thin([], [], 10, algorithm) == []


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_null_values_are_never_chosen_and_other_numbers_count(algorithm):
    times = list(range(20))
    values = [None, 1, decimal.Decimal("2.5"), {"m": 7.0, "c": 2}, None, 3] * 3 + [None, 9]
    chosen = thin(times, values, 4, algorithm)
    assert chosen and all(values[i] is not None for i in chosen)
    if algorithm != "lttb":
        assert 19 in chosen  # the maximum, 9
    small = thin(times, [None] * 19 + [1], 4, algorithm)
    assert small == [19]


def test_equal_timestamps_are_accepted():
    times = [100] * 50 + [101] * 50
    values = list(range(100))
    for algorithm in ALGORITHMS:
        chosen = thin(times, values, 8, algorithm)
        assert len(chosen) <= 8 and chosen == sorted(chosen)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (([1], [1], 4, "nope"), "Unknown thinning algorithm 'nope'"),
        (([1], [1], MIN_POINTS - 1, "m4"), "at least 4"),
        (([1], [1], 4.0, "m4"), "must be an integer"),
        (([1], [1], True, "m4"), "must be an integer"),
        (([1, 2], [1], 4, "m4"), "same length"),
    ],
)
def test_bad_arguments_raise_invalid_argument(arguments, message):
    with pytest.raises(InvalidArgument, match=message):
        thin(*arguments)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), min_size=0, max_size=300
    ),
    max_points=st.integers(MIN_POINTS, 40),
    algorithm=st.sampled_from(ALGORITHMS),
)
def test_any_series_thins_within_budget_keeping_extremes(values, max_points, algorithm):
    times = [i * 7 for i in range(len(values))]
    chosen = thin(times, values, max_points, algorithm)
    present = [v for v in values if v is not None]
    assert len(chosen) <= max_points
    assert chosen == sorted(set(chosen))
    assert all(values[i] is not None for i in chosen)
    if present and algorithm != "lttb":
        assert min(present) in [values[i] for i in chosen]
        assert max(present) in [values[i] for i in chosen]


@pytest.mark.parametrize("algorithm", ["m4", "lttb", "minmaxlttb"])
def test_thinning_column_batches_chooses_what_thinning_rows_chooses(algorithm):
    import numpy as np

    from datastream.thinning import thin_columns, thin_rows

    rng = np.random.default_rng(7)
    times = np.cumsum(rng.integers(1, 5, size=5000)).astype(np.int64)
    values = np.cumsum(rng.normal(size=5000)).round(2)
    listed = [None if i % 37 == 0 else v for i, v in enumerate(values.tolist())]
    rows = list(zip(times.tolist(), listed))
    batches = [(times[a : a + 700], listed[a : a + 700]) for a in range(0, 5000, 700)]
    array_batches = [(times[a : a + 700], values[a : a + 700]) for a in range(0, 5000, 700)]
    last = int(times[-1])
    expected = thin_rows(rows, 100, algorithm, lambda: last, chunk_points=700)
    assert thin_columns(batches, 100, algorithm, lambda: last) == expected
    plain = thin_rows(list(zip(times.tolist(), values.tolist())), 100, algorithm, lambda: last,
                      chunk_points=700)
    assert thin_columns(array_batches, 100, algorithm, lambda: last) == plain
    assert thin_columns([(times, values)], 100, algorithm, lambda: last) == thin_rows(
        list(zip(times.tolist(), values.tolist())), 100, algorithm, lambda: last,
        chunk_points=10_000,
    )
