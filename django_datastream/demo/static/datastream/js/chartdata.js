// One request per chart view: the server picks the granularity for the chart's width in
// pixels (max_points), thins raw ranges (thin=minmaxlttb), answers in columns with epoch
// milliseconds, and appends the bucket that is still open (open_bucket=1).

import { GRANULARITIES, granularity } from './granularity.js';
import { parseTime } from './series.js';

function number(value) {
  if (value === null || value === undefined || value === '') return null;
  const result = Number(value);
  return Number.isFinite(result) ? result : null;
}

/** The granularity just coarser than `g`, or null for days. */
function coarser(g) {
  const index = GRANULARITIES.indexOf(g);
  return index >= 0 && index < GRANULARITIES.length - 1 ? GRANULARITIES[index + 1] : null;
}

/**
 * True when a window of `spanSeconds` shown on `width` pixels is a raw range: even the
 * granularity just coarser than the stream's own would give fewer buckets than pixels, so the
 * raw datapoints, thinned to the width, are the finest picture.
 */
export function isRawRange(spanSeconds, highest, width) {
  const next = coarser(highest);
  return !next || spanSeconds / next.seconds < width;
}

/** The query string of a view: `from`/`to` in POSIX seconds (`to` null: up to the newest). */
export function viewParams(stream, { from, to, width, valueDownsamplers }) {
  const highest = granularity(stream.highest_granularity);
  const params = new URLSearchParams({
    format: 'json',
    max_points: String(Math.max(4, Math.round(width))),
    shape: 'columns',
    time_format: 'epoch_ms',
  });
  if (from !== null && from !== undefined) params.set('start', String(Math.floor(from)));
  if (to !== null && to !== undefined) params.set('end', String(Math.ceil(to)));
  const latest = stream.latest_datapoint ? parseTime(stream.latest_datapoint) / 1000 : null;
  const span = (to ?? latest ?? from) - from;
  const numeric = stream.value_type === 'numeric';
  if (numeric && isRawRange(Math.max(span, 1), highest, width)) {
    params.set('thin', 'minmaxlttb');
  } else {
    if (valueDownsamplers && valueDownsamplers.length)
      params.set('value_downsamplers', valueDownsamplers.join(','));
    params.set('time_downsamplers', 'mean');
    params.set('open_bucket', '1');
  }
  return params;
}

/**
 * Points of a `columns` response, in the shape the charts draw:
 * {t (ms), g, raw, bucketStart, bucketEnd (POSIX s), value, m, l, u, c, provisional}.
 */
export function pointsOf(body) {
  const g = granularity(body.query_params.granularity);
  const raw = body.query_params.granularity === body.highest_granularity;
  const columns = body.datapoints || {};
  const points = [];
  if (raw) {
    const times = columns.t || [];
    const values = columns.v || [];
    for (let i = 0; i < times.length; i += 1) {
      const t = times[i];
      const value = values[i];
      const v = typeof value === 'object' && value !== null ? number(value.m) : number(value);
      const seconds = Math.floor(t / 1000);
      points.push({
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
        provisional: false,
      });
    }
    return { g, raw, points };
  }
  const times = (columns.t && columns.t.m) || [];
  const values = columns.v || {};
  const openFrom = body.open_from;
  for (let i = 0; i < times.length; i += 1) {
    const t = times[i];
    const bucketStart = Math.floor(Math.floor(t / 1000) / g.seconds) * g.seconds;
    points.push({
      t,
      g,
      raw: false,
      bucketStart,
      bucketEnd: bucketStart + g.seconds,
      value: null,
      m: number(values.m && values.m[i]),
      l: number(values.l && values.l[i]),
      u: number(values.u && values.u[i]),
      c: number(values.c && values.c[i]),
      provisional: openFrom !== null && openFrom !== undefined && t >= openFrom,
    });
  }
  return { g, raw, points };
}

/** A datapoint of a live event (rows shape, epoch ms) as a chart point. */
export function pointOfEvent(datapoint, g, raw, provisional = false) {
  if (raw) {
    return pointsOf({
      query_params: { granularity: g.name },
      highest_granularity: g.name,
      datapoints: { t: [datapoint.t], v: [datapoint.v] },
    }).points[0];
  }
  const time = datapoint.t || {};
  const v = datapoint.v || {};
  const bucketStart = Math.floor(Math.floor(time.m / 1000) / g.seconds) * g.seconds;
  return {
    t: time.m,
    g,
    raw: false,
    bucketStart,
    bucketEnd: bucketStart + g.seconds,
    value: null,
    m: number(v.m),
    l: number(v.l),
    u: number(v.u),
    c: number(v.c),
    provisional,
  };
}

/**
 * The datapoints of one stream for one view, loaded in one request: `from` (POSIX s) to `to`
 * (POSIX s, or null for "up to the newest", which live updates extend), drawn on `width`
 * pixels. The server chooses the granularity (`g`); `raw` tells whether they are raw.
 */
export class ViewSeries {
  constructor(stream, from, to, width, valueDownsamplers) {
    this.stream = stream;
    this.from = from;
    this.to = to;
    this.width = width;
    this.valueDownsamplers = valueDownsamplers;
    this.g = null;
    this.raw = false;
    this.points = [];
  }

  /** Datapoints per second of this series' window. */
  density(end) {
    const to = this.to ?? end;
    return this.width / Math.max(1, to - this.from);
  }

  /** True if this series shows `window` ({from, to, width}) at about its resolution. */
  covers(window, latest) {
    if (this.from > window.from) return false;
    if (this.to !== null && (window.to === null || this.to < window.to)) return false;
    const wanted = window.width / Math.max(1, (window.to ?? latest) - window.from);
    const ratio = wanted / this.density(latest);
    return ratio > 0.6 && ratio < 1.7;
  }

  async load(client) {
    const params = viewParams(this.stream, this);
    const body = await client.getJson(`${this.stream.resource_uri}?${params}`);
    const { g, raw, points } = pointsOf(body);
    this.g = g;
    this.raw = raw;
    this.points = points;
    return this;
  }

  /** The newest point that is not open, or null. */
  lastClosed() {
    for (let i = this.points.length - 1; i >= 0; i -= 1) {
      if (!this.points[i].provisional) return this.points[i];
    }
    return null;
  }

  /** Append closed points from a live feed (newer ones only); they replace open buckets. */
  addClosed(points) {
    let closed = this.points.filter((point) => !point.provisional);
    let open = this.points.filter((point) => point.provisional);
    for (const point of points) {
      const last = closed.length ? closed[closed.length - 1] : null;
      if (last && (this.raw ? point.t < last.t : point.bucketStart <= last.bucketStart)) continue;
      closed.push(point);
      open = open.filter((bucket) => bucket.bucketStart > point.bucketStart);
    }
    this.points = closed.concat(open);
  }

  /** Replace the open buckets. */
  setOpen(points) {
    this.points = this.points.filter((point) => !point.provisional).concat(points);
  }
}
