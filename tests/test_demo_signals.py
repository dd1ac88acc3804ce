"""The realistic demo signals: in range, daily cycles, gaps and spikes, reproducible."""

from __future__ import annotations

import datetime
import random
import statistics

from django_datastream.demo.signals import DEMO_SIGNALS

DAY0 = datetime.datetime(2024, 3, 1, tzinfo=datetime.UTC)


def series(signal, days=4, step=60, seed=1):
    rng = random.Random(seed)
    count = days * 86400 // step
    times = [DAY0 + datetime.timedelta(seconds=step * i) for i in range(count)]
    return times, [signal.value_at(t, rng) for t in times]


def test_values_stay_in_the_declared_range_and_gaps_leave_holes():
    for signal in DEMO_SIGNALS:
        _times, values = series(signal)
        present = [v for v in values if v is not None]
        assert all(signal.minimum <= v <= signal.maximum for v in present)
        assert 0 < len(values) - len(present) < len(values) * 0.05, signal.title


def test_a_daily_cycle_peaks_near_its_peak_hour():
    for signal in DEMO_SIGNALS:
        times, values = series(signal)
        by_hour = {
            hour: statistics.mean(
                v for t, v in zip(times, values) if v is not None and t.hour == hour
            )
            for hour in range(24)
        }
        trough = (int(signal.peak_hour) + 12) % 24
        assert by_hour[int(signal.peak_hour)] > by_hour[trough] + signal.daily, signal.title


def test_spikes_happen_and_gaps_depend_on_the_time_alone():
    signal = DEMO_SIGNALS[2]
    _times, first = series(signal, days=2, seed=1)
    _times, second = series(signal, days=2, seed=2)
    assert [v is None for v in first] == [v is None for v in second]
    jumps = [abs(b - a) for a, b in zip(first, first[1:]) if a is not None and b is not None]
    assert max(jumps) > signal.spike / 2
