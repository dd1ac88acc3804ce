// Datapoints of one stream over a window, at a granularity chosen for the window, with the
// part that is not downsampled yet filled in from finer granularities.

import { finer, floorTo, granularity } from './granularity.js';

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

/**
 * Loaded datapoints of a stream: `from` (POSIX s) to `to` (POSIX s, or null for "up to the
 * newest datapoint", which live updates extend) at granularity `g`.
 */
export class Series {
  constructor(stream, g, from, to, valueDownsamplers) {
    this.stream = stream;
    this.g = g;
    this.from = from;
    this.to = to;
    this.valueDownsamplers = valueDownsamplers;
    this.points = [];
  }

  get highest() {
    return granularity(this.stream.highest_granularity);
  }

  covers(g, from, to) {
    return (
      this.g === g && this.from <= from && (this.to === null || (to !== null && this.to >= to))
    );
  }

  /**
   * Fetch `g` from `from`; where downsampled buckets end before the window does (the newest
   * buckets are closed only when later data arrives), continue with the next finer
   * granularity, down to the raw datapoints.
   */
  async fetchCascade(client, from, to, latestSeconds) {
    const points = [];
    let g = this.g;
    let start = from;
    for (;;) {
      const raw = g === this.highest;
      // eslint-disable-next-line no-await-in-loop
      const datapoints = await client.datapoints(this.stream, {
        granularity: g.name,
        start,
        end: to,
        valueDownsamplers: raw ? null : this.valueDownsamplers,
        timeDownsamplers: raw ? null : ['mean'],
      });
      const batch = datapoints.map((datapoint) => normalize(datapoint, g, raw));
      points.push(...batch);
      if (raw) break;
      const covered = batch.length ? batch[batch.length - 1].bucketEnd : start;
      if ((to !== null && covered > to) || latestSeconds === null || covered > latestSeconds) break;
      const next = finer(g, this.highest);
      if (!next) break;
      start = covered;
      g = next;
    }
    return points;
  }

  /** Load the whole window. */
  async load(client, latestSeconds) {
    this.points = rebucket(
      await this.fetchCascade(client, this.from, this.to, latestSeconds),
      this.g,
    );
    return this;
  }

  /** Reload what is newer than the last closed bucket at `g` (live updates). */
  async refreshTail(client, latestSeconds) {
    let tailFrom = this.from;
    for (let i = this.points.length - 1; i >= 0; i -= 1) {
      if (!this.points[i].provisional) {
        tailFrom = this.points[i].bucketEnd;
        break;
      }
    }
    const tail = rebucket(
      await this.fetchCascade(client, tailFrom, this.to, latestSeconds),
      this.g,
    );
    this.points = this.points.filter((point) => point.bucketStart < tailFrom).concat(tail);
    return tail.length;
  }
}

/**
 * Combine the points finer than `g` (the newest data, not downsampled yet) into buckets of `g`,
 * so a series has one granularity: count-weighted mean, smallest min, largest max, summed
 * count. Such buckets are marked `provisional` (they change as data arrives).
 */
export function rebucket(points, g) {
  const result = [];
  let open = null;
  const close = () => {
    if (!open) return;
    const { sum, weight, times, count } = open;
    result.push({
      t: count ? times / count : (open.bucketStart + g.seconds / 2) * 1000,
      g,
      raw: false,
      provisional: true,
      bucketStart: open.bucketStart,
      bucketEnd: open.bucketStart + g.seconds,
      value: null,
      m: weight ? sum / weight : null,
      l: open.l,
      u: open.u,
      c: open.c,
    });
    open = null;
  };
  for (const point of points) {
    if (point.g.seconds >= g.seconds) {
      close();
      result.push(point);
      continue;
    }
    const bucketStart = floorTo(point.bucketStart, g);
    if (open && open.bucketStart !== bucketStart) close();
    if (!open)
      open = { bucketStart, sum: 0, weight: 0, times: 0, count: 0, l: null, u: null, c: 0 };
    // Weight by the datapoint count when known; without it, every non-empty point counts once.
    const c = point.c ?? (point.m === null ? 0 : 1);
    if (point.m !== null && c > 0) {
      open.sum += point.m * c;
      open.weight += c;
    }
    if (c > 0) {
      open.times += point.t * c;
      open.count += c;
    }
    if (point.l !== null) open.l = open.l === null ? point.l : Math.min(open.l, point.l);
    if (point.u !== null) open.u = open.u === null ? point.u : Math.max(open.u, point.u);
    open.c += c;
  }
  close();
  return result;
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
