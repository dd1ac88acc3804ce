// Datapoints as the charts draw them: API times, merging a view into the overview, counts.

import { floorTo } from './granularity.js';

/** Milliseconds since the epoch for an API timestamp ("2026-01-02T03:04:05Z"). */
export function parseTime(value) {
  return typeof value === 'number' ? value : Date.parse(value);
}

function number(value) {
  if (value === null || value === undefined || value === '') return null;
  const result = Number(value);
  return Number.isFinite(result) ? result : null;
}

/**
 * A datapoint in one shape for both raw and downsampled data:
 * {t (ms), bucketStart, bucketEnd (POSIX s), g (granularity), raw, m, l, u, c, value}.
 */
export function normalize(datapoint, g, raw) {
  if (raw) {
    const t = parseTime(datapoint.t);
    const seconds = Math.floor(t / 1000);
    const value = datapoint.v;
    const numeric =
      typeof value === 'number' || (typeof value === 'string' && number(value) !== null);
    const v = numeric ? number(value) : null;
    return {
      t,
      g,
      raw: true,
      bucketStart: seconds,
      bucketEnd: seconds + 1,
      value,
      m: v,
      l: v,
      u: v,
      c: value === null || value === undefined ? 0 : 1,
    };
  }
  const time = datapoint.t || {};
  const v = datapoint.v || {};
  const t = parseTime(time.m || time.a || time.z);
  const bucketStart = floorTo(Math.floor(t / 1000), g);
  return {
    t,
    g,
    raw: false,
    bucketStart,
    bucketEnd: bucketStart + g.seconds,
    value: null,
    m: number(v.m),
    l: number(v.l),
    u: number(v.u),
    c: number(v.c),
  };
}

/** Points of `detail` inside its window, and of `overview` outside it (for the range slider). */
export function mergeSeries(overview, detail) {
  if (!detail) return overview ? overview.points : [];
  if (!overview) return detail.points;
  const first = detail.points.length ? detail.points[0].bucketStart : detail.from;
  const last = detail.points.length
    ? detail.points[detail.points.length - 1].bucketEnd
    : detail.from;
  const before = overview.points.filter((point) => point.bucketEnd <= first);
  const after = overview.points.filter((point) => point.bucketStart >= last);
  return before.concat(detail.points, after);
}

/** Sum the counts of `points` into buckets of `g` (for count bars at a steady width). */
export function countsPerBucket(points, g) {
  const buckets = new Map();
  for (const point of points) {
    const start = point.g.seconds >= g.seconds ? point.bucketStart : floorTo(point.bucketStart, g);
    const width = Math.max(point.g.seconds, g.seconds);
    const entry = buckets.get(start) || { start, width, c: 0 };
    entry.c += point.c ?? 0;
    buckets.set(start, entry);
  }
  return [...buckets.values()].sort((a, b) => a.start - b.start);
}
