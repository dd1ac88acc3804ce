// Datapoints as the charts draw them: API times, merging a view into the overview, gaps, counts.

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

/** The parts of `mergeSeries`: [points, series they come from] in time order. */
function mergedParts(overview, detail) {
  if (!detail) return overview ? [[overview.points, overview]] : [];
  if (!overview) return [[detail.points, detail]];
  const first = detail.points.length ? detail.points[0].bucketStart : detail.from;
  const last = detail.points.length
    ? detail.points[detail.points.length - 1].bucketEnd
    : detail.from;
  const before = overview.points.filter((point) => point.bucketEnd <= first);
  const after = overview.points.filter((point) => point.bucketStart >= last);
  return [
    [before, overview],
    [detail.points, detail],
    [after, overview],
  ];
}

/** Points of `detail` inside its window, and of `overview` outside it (for the range slider). */
export function mergeSeries(overview, detail) {
  return mergedParts(overview, detail).flatMap(([points]) => points);
}

/** Raw datapoints further apart than this many times their typical spacing have a gap. */
export const RAW_GAP_FACTOR = 5;

/** The gap step of raw points, by their array (a series replaces it when points arrive). */
const rawGapSteps = new WeakMap();

/**
 * Seconds without data between two points of `series` that make a gap: a bucket's width for
 * buckets (the API answers buckets only where there is data, so a missing bucket is a gap);
 * for raw datapoints, RAW_GAP_FACTOR times their median spacing (Infinity with too few).
 */
export function gapStep(series) {
  if (!series || !series.g) return Infinity;
  if (!series.raw) return series.g.seconds;
  const points = series.points;
  if (rawGapSteps.has(points)) return rawGapSteps.get(points);
  const spacings = [];
  for (let i = 1; i < points.length; i += 1) {
    const spacing = points[i].t - points[i - 1].t;
    if (spacing > 0 && !points[i].provisional) spacings.push(spacing);
  }
  spacings.sort((a, b) => a - b);
  const step =
    spacings.length < 2 ? Infinity : (RAW_GAP_FACTOR * spacings[spacings.length >> 1]) / 1000;
  rawGapSteps.set(points, step);
  return step;
}

/** Where a point's data begins and ends, in POSIX seconds (a raw datapoint: its time). */
function startOf(point) {
  return point.raw ? point.t / 1000 : point.bucketStart;
}

function endOf(point) {
  return point.raw ? point.t / 1000 : point.bucketEnd;
}

/**
 * The closed points of `mergeSeries(overview, detail)` with gap points (every value null,
 * `gap: true`) at both edges of wherever data is missing, so that lines and bands break there
 * (and stacked areas drop to zero): between two points more than `gapStep` of their series
 * apart (the larger one where the overview and the detail meet, whose buckets may differ).
 */
export function mergeWithGaps(overview, detail) {
  const result = [];
  let previous = null;
  let previousStep = 0;
  for (const [points, series] of mergedParts(overview, detail)) {
    const step = gapStep(series);
    for (const point of points) {
      if (point.provisional) continue;
      if (previous && startOf(point) - endOf(previous) >= Math.max(step, previousStep)) {
        result.push(gapPoint(previous, endOf(previous)), gapPoint(previous, startOf(point)));
      }
      result.push(point);
      previous = point;
      previousStep = step;
    }
  }
  return result;
}

function gapPoint(like, seconds) {
  return {
    t: Math.round(seconds * 1000),
    g: like.g,
    raw: like.raw,
    gap: true,
    bucketStart: seconds,
    bucketEnd: seconds,
    value: null,
    m: null,
    l: null,
    u: null,
    c: null,
    provisional: false,
  };
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
