// One plotly chart per group of streams: mean lines in min/max bands, counts as bars.

import { ViewSeries } from './chartdata.js';
import { granularity } from './granularity.js';
import { LiveFeed } from './live.js';
import { countsPerBucket, mergeSeries, mergeWithGaps, parseTime } from './series.js';
import { axisTitle, streamTitle } from './streams.js';

const COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** Pixels above the plot area: the toolbar's row (about 30 px), then the legend's. */
const TOP_MARGIN = 64;

/** A line gets markers when the window shows at most this many of its points. */
export const MARKERS_UP_TO = 60;

/** The most datapoints the API serves in one response. */
const MAX_POINTS = 10000;

function rgba(hex, alpha) {
  const value = parseInt(hex.slice(1), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

/**
 * The min/max band of `points` (with gap points) as closed outlines for `fill: 'toself'`:
 * along the maxima, back along the minima, one outline per run of buckets, separated by nulls
 * so that no band crosses a gap. Raw datapoints (one value each) have no band.
 */
export function bandOutline(points, lowKey, highKey) {
  const x = [];
  const y = [];
  let run = [];
  const close = () => {
    if (run.length) {
      if (x.length) {
        x.push(null);
        y.push(null);
      }
      for (const p of run) {
        x.push(p.t);
        y.push(p[highKey]);
      }
      for (let i = run.length - 1; i >= 0; i -= 1) {
        x.push(run[i].t);
        y.push(run[i][lowKey]);
      }
    }
    run = [];
  };
  for (const p of points) {
    if (p.raw || p[lowKey] === null || p[highKey] === null) close();
    else run.push(p);
  }
  close();
  return { x, y };
}

/**
 * Mode and markers of a mean line: markers where they can be told apart (`all`: few points in
 * the visible window), else only on lone points between gaps, which a line cannot show.
 */
export function meanMarkers(points, all, color) {
  if (all) return { mode: 'lines+markers', marker: { size: 4, color } };
  const has = (p) => p !== undefined && p.m !== null;
  const lone = points.map((p, i) => has(p) && !has(points[i - 1]) && !has(points[i + 1]));
  if (!lone.includes(true)) return { mode: 'lines', marker: { size: 4, color } };
  const size = lone.map((isLone) => (isLone ? 4 : 0));
  return { mode: 'lines+markers', marker: { size, color } };
}

/** Milliseconds for a plotly date-axis value ("2026-01-02 03:04:05.678", UTC) or a number. */
export function toMs(value) {
  if (typeof value === 'number') return value;
  const match = /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d)(?::(\d\d)(?::(\d\d)(\.\d+)?)?)?)?/.exec(
    String(value),
  );
  if (!match) return Date.parse(value);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0'] = match;
  return Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) + Math.round(parseFloat(frac) * 1000);
}

/** [earliest, latest] of a stream in POSIX seconds, each null when unknown (no data). */
export function extremes(stream) {
  const earliest = stream.earliest_datapoint ? parseTime(stream.earliest_datapoint) : NaN;
  const latest = stream.latest_datapoint ? parseTime(stream.latest_datapoint) : NaN;
  return [
    Number.isFinite(earliest) ? Math.floor(earliest / 1000) : null,
    Number.isFinite(latest) ? Math.floor(latest / 1000) : null,
  ];
}

export class StreamChart {
  constructor(page, element, streams, index) {
    this.page = page;
    this.element = element;
    this.streams = streams;
    this.index = index;
    this.overview = new Map();
    this.detail = new Map();
    this.feeds = new Map();
    this.renderTimer = null;
    this.view = null;
    this.loadSeq = 0;
    this.loading = 0;
    this.plot = element.querySelector('.ds-plot');
    this.status = element.querySelector('.ds-status');
    this.axes = this.assignAxes();
  }

  get options() {
    return this.page.options;
  }

  /** Streams sharing an axis title share a y axis; counts and states get one each. */
  assignAxes() {
    const axes = [];
    const byStream = new Map();
    for (const stream of this.streams) {
      const numericAxis = stream.view.type === 'line' || stream.view.type === 'stack';
      const what = stream.view.type === 'state' ? 'values / count' : 'datapoints';
      const title = numericAxis ? axisTitle(stream) : `${streamTitle(stream)}: ${what}`;
      let axis = numericAxis
        ? axes.find((candidate) => candidate.numeric && candidate.title === title)
        : null;
      if (!axis) {
        axis = {
          id: axes.length ? `y${axes.length + 1}` : 'y',
          title,
          numeric: numericAxis,
          streams: [],
        };
        axes.push(axis);
      }
      axis.streams.push(stream);
      byStream.set(stream.id, axis);
    }
    this.axisOf = byStream;
    return axes;
  }

  setStatus(text, isError = false) {
    this.status.textContent = text;
    this.status.classList.toggle('ds-error', isError);
  }

  /** Pixels of the plot area: the datapoints a view needs (at least 100). */
  pixelWidth() {
    return Math.max(100, Math.round((this.plot.clientWidth || 900) - 80));
  }

  /**
   * The window to request for a stream when the chart shows `view` (ms): 10 % more on each
   * side (for panning), as many datapoints as pixels; `to` null when it reaches the newest.
   */
  windowFor(stream, view, pixels = this.pixelWidth()) {
    const [earliest, latest] = extremes(stream);
    if (earliest === null || latest === null) return null;
    const start = view[0] / 1000;
    const end = view[1] / 1000;
    const span = Math.max(end - start, 1);
    const pad = span * 0.1;
    const from = Math.floor(Math.max(start - pad, earliest));
    const to = end + pad >= latest ? null : Math.ceil(end + pad);
    const width = Math.min(MAX_POINTS, Math.round((pixels * ((to ?? latest) - from)) / span));
    return { from, to, width: Math.max(4, width) };
  }

  /** Load the whole history of every stream once (range slider), then the initial view. */
  async init(view) {
    const jobs = this.streams.map(async (stream) => {
      const [earliest] = extremes(stream);
      if (earliest === null) return;
      const series = new ViewSeries(
        stream,
        earliest,
        null,
        this.pixelWidth(),
        stream.view.valueDownsamplers,
      );
      this.overview.set(stream.id, series);
      await series.load(this.page.client);
    });
    await this.track(Promise.all(jobs));
    await this.setView(view);
  }

  async track(promise) {
    this.loading += 1;
    this.element.classList.add('ds-loading');
    try {
      return await promise;
    } finally {
      this.loading -= 1;
      if (!this.loading) this.element.classList.remove('ds-loading');
    }
  }

  /**
   * Show `view` ([ms, ms]): one request per stream whose loaded data does not cover it at
   * the chart's resolution (none when it does); then follow the newest data live.
   */
  async setView(view) {
    this.view = view;
    const seq = ++this.loadSeq;
    const jobs = [];
    for (const stream of this.streams) {
      const window = this.windowFor(stream, view);
      if (!window) continue;
      const latest = extremes(stream)[1];
      const loaded = this.detail.get(stream.id);
      if (loaded && loaded.covers(window, latest)) continue;
      const overview = this.overview.get(stream.id);
      if (overview && overview.covers(window, latest)) {
        this.detail.set(stream.id, overview);
        continue;
      }
      const series = new ViewSeries(
        stream,
        window.from,
        window.to,
        window.width,
        stream.view.valueDownsamplers,
      );
      jobs.push(
        series.load(this.page.client).then(() => {
          if (seq === this.loadSeq || !this.detail.has(stream.id))
            this.detail.set(stream.id, series);
        }),
      );
    }
    try {
      await this.track(Promise.all(jobs));
    } catch (error) {
      this.setStatus(`Could not load data: ${error.message}`, true);
      console.error(error);
      return;
    }
    if (seq === this.loadSeq) {
      this.follow();
      this.render();
    }
  }

  /**
   * One live feed per stream whose shown series reaches the newest data, at that series'
   * granularity; closed when the view leaves the newest data or the page turns live off.
   */
  follow() {
    for (const stream of this.streams) {
      const series = this.detail.get(stream.id);
      const feed = this.feeds.get(stream.id);
      const wanted = this.page.live && series && series.to === null && series.g;
      if (feed && (!wanted || feed.g !== series.g)) {
        feed.close();
        this.feeds.delete(stream.id);
      }
      if (!wanted || this.feeds.has(stream.id)) continue;
      const current = () => this.detail.get(stream.id);
      this.feeds.set(
        stream.id,
        new LiveFeed(stream, series.g, series.raw, stream.view.valueDownsamplers,
          series.lastClosed(), {
            onPoints: (points) => {
              const target = current();
              if (!target || target.g !== series.g) return;
              target.addClosed(points);
              this.page.noteLatest(stream, points[points.length - 1].t);
              this.scheduleRender();
            },
            onOpen: (points) => {
              const target = current();
              if (!target || target.g !== series.g) return;
              target.setOpen(points);
              if (points.length) this.page.noteLatest(stream, points[points.length - 1].t);
              this.scheduleRender();
            },
            onError: (message) => this.setStatus(`Live updates stopped: ${message}`, true),
          }),
      );
    }
  }

  /** Stop every live feed of the chart. */
  stop() {
    for (const feed of this.feeds.values()) feed.close();
    this.feeds.clear();
  }

  /** Draw soon, once for a burst of live events. */
  scheduleRender() {
    if (this.renderTimer) return;
    this.renderTimer = setTimeout(() => {
      this.renderTimer = null;
      // A window followed live for long gathers many points: reload it at its proper size.
      const oversized = [...this.detail.values()].some(
        (series) => series.points.length > 3 * series.width + 50,
      );
      if (oversized) {
        this.detail.clear();
        this.setView(this.view);
      } else {
        this.render();
      }
    }, 100);
  }

  traces() {
    const traces = [];
    for (const stream of this.streams) {
      const axis = this.axisOf.get(stream.id);
      const color = COLORS[this.page.colorIndex(stream) % COLORS.length];
      const overview = this.overview.get(stream.id);
      const detail = this.detail.get(stream.id);
      const merged = mergeSeries(overview, detail);
      // Open buckets (not closed by the server yet) are still filling up: hollow markers.
      const points = merged.filter((point) => !point.provisional);
      const newest = merged.filter((point) => point.provisional);
      const common = {
        legendgroup: stream.id,
        yaxis: axis.id,
        visible: stream.view.hidden ? 'legendonly' : true,
        meta: { streamId: stream.id },
      };
      const title = streamTitle(stream);
      const { keys, type } = stream.view;
      if (type === 'line' || type === 'stack') {
        // A null point wherever data is missing: lines and bands break at gaps.
        const line = mergeWithGaps(overview, detail);
        const x = line.map((point) => point.t);
        const hasBand = keys.includes('l') || keys.includes('u');
        if (hasBand && type === 'line') {
          const lowKey = keys.includes('l') ? 'l' : 'm';
          const highKey = keys.includes('u') ? 'u' : 'm';
          const band = bandOutline(line, lowKey, highKey);
          traces.push({
            ...common,
            name: `${title} min–max`,
            x: band.x,
            y: band.y,
            type: 'scatter',
            mode: 'lines',
            line: { width: 0, color },
            fill: 'toself',
            fillcolor: rgba(color, 0.25),
            showlegend: false,
            hoverinfo: 'skip',
          });
          // The minimum and the maximum for the tooltip (a raw datapoint has neither).
          for (const [key, what] of [
            [lowKey, 'min'],
            [highKey, 'max'],
          ]) {
            traces.push({
              ...common,
              name: `${title} ${what}`,
              x,
              y: line.map((p) => (p.raw ? null : p[key])),
              type: 'scatter',
              mode: 'lines',
              line: { width: 0, color },
              showlegend: false,
              connectgaps: false,
              hovertemplate: `${title} ${what}: %{y:.2f}<extra></extra>`,
            });
          }
        }
        if (keys.includes('m')) {
          traces.push({
            ...common,
            name: title,
            x,
            y: line.map((p) => p.m),
            type: 'scatter',
            ...meanMarkers(line, this.visibleCount(points) <= MARKERS_UP_TO, color),
            line: { width: 1.5, color },
            connectgaps: false,
            stackgroup: type === 'stack' ? `stack-${axis.id}` : undefined,
            // A raw datapoint is one value; a bucket has a mean.
            hovertemplate: line.map(
              (p) => `${title} ${p.raw ? 'value' : 'mean'}: %{y:.2f}<extra></extra>`,
            ),
          });
          traces.push({
            ...common,
            name: `${title} (open bucket)`,
            x: newest.map((p) => p.t),
            y: newest.map((p) => p.m),
            type: 'scatter',
            mode: 'markers',
            showlegend: false,
            // At the right edge of a window that follows the data: draw it whole, unclipped.
            cliponaxis: false,
            marker: { color, size: 7, symbol: 'circle-open' },
            hovertemplate: `${title} mean so far: %{y:.2f}<extra></extra>`,
          });
        }
      } else if (type === 'state' && this.showsRawStates(stream)) {
        const raw = points.filter((p) => p.raw && p.value !== null && p.value !== undefined);
        traces.push({
          ...common,
          name: title,
          type: 'scatter',
          mode: 'markers',
          x: raw.map((p) => p.t),
          y: raw.map((p) =>
            typeof p.value === 'object' ? JSON.stringify(p.value) : String(p.value),
          ),
          marker: { color, size: 6 },
          hovertemplate: `${title}: %{y}<extra></extra>`,
        });
      } else {
        const shown = detail || overview;
        const bucketSize = shown && shown.g ? shown.g : granularity('seconds');
        const buckets = countsPerBucket(merged, bucketSize).filter(
          (bucket) => bucket.c > 0,
        );
        traces.push({
          ...common,
          name: title,
          type: 'bar',
          x: buckets.map((b) => (b.start + b.width / 2) * 1000),
          y: buckets.map((b) => b.c),
          width: buckets.map((b) => b.width * 900),
          marker: { color },
          hovertemplate: `${title}: %{y} datapoints<extra></extra>`,
        });
      }
    }
    return traces;
  }

  /** How many of `points` lie in the shown window. */
  visibleCount(points) {
    if (!this.view) return points.length;
    const [from, to] = this.view;
    return points.reduce((count, point) => count + (point.t >= from && point.t <= to ? 1 : 0), 0);
  }

  showsRawStates(stream) {
    const detail = this.detail.get(stream.id);
    return Boolean(detail && detail.raw);
  }

  layout() {
    const layout = {
      uirevision: 'keep',
      // The top margin holds two rows: plotly's toolbar above, the legend (and the range
      // buttons) below it, so that the toolbar never covers a legend entry.
      margin: { l: 60, r: this.axes.length > 1 ? 60 : 20, t: TOP_MARGIN, b: 10 },
      height: 340 + TOP_MARGIN - 30,
      showlegend: true,
      legend: { orientation: 'h', x: 1, xanchor: 'right', y: 1.02, yanchor: 'bottom' },
      hovermode: 'x unified',
      barmode: 'overlay',
      xaxis: {
        type: 'date',
        range: this.view.slice(),
        autorange: false,
        rangeslider: { visible: true, thickness: 0.12 },
        rangeselector: {
          buttons: [
            { count: 1, label: 'hour', step: 'hour', stepmode: 'backward' },
            { count: 1, label: 'day', step: 'day', stepmode: 'backward' },
            { count: 7, label: 'week', step: 'day', stepmode: 'backward' },
            { step: 'all', label: 'all' },
          ],
        },
      },
    };
    const extent = this.page.extent();
    if (extent) Object.assign(layout.xaxis.rangeslider, { autorange: false, range: extent });
    this.axes.forEach((axis, index) => {
      const key = index ? `yaxis${index + 1}` : 'yaxis';
      const settings = { title: { text: axis.title }, fixedrange: false, zeroline: false };
      if (index) Object.assign(settings, { overlaying: 'y', side: 'right', showgrid: false });
      const rawStates = axis.streams.some((s) => s.view.type === 'state' && this.showsRawStates(s));
      settings.type = rawStates ? 'category' : 'linear';
      const range = axis.numeric ? this.axisRange(axis.streams) : null;
      if (range) Object.assign(settings, { range, autorange: false });
      else settings.autorange = true;
      layout[key] = settings;
    });
    return layout;
  }

  /**
   * Fixed y range from the streams' visualization minimum/maximum: the smallest minimum and the
   * largest maximum (each only when every stream of the axis has one), with a little padding.
   */
  axisRange(streams) {
    const minima = streams.map((s) => s.view.minimum);
    const maxima = streams.map((s) => s.view.maximum);
    if (minima.some((v) => v === null) || maxima.some((v) => v === null)) return null;
    const low = Math.min(...minima);
    const high = Math.max(...maxima);
    const pad = (high - low) * 0.04 || 1;
    return [low - pad, high + pad];
  }

  render() {
    if (!this.view) return;
    const traces = this.traces();
    const { Plotly } = window;
    Plotly.react(this.plot, traces, this.layout(), {
      responsive: true,
      displaylogo: false,
      modeBarButtonsToRemove: ['lasso2d', 'select2d'],
    });
    if (!this.listening) {
      this.listening = true;
      this.plot.on('plotly_relayout', (event) => this.page.onRelayout(this, event));
    }
    const parts = this.streams.map((stream) => {
      const detail = this.detail.get(stream.id);
      if (!detail) return `${streamTitle(stream)}: no data yet`;
      const counts = mergeSeries(null, detail).length;
      return `${streamTitle(stream)}: ${detail.g.name}, ${counts} points`;
    });
    this.element.dataset.granularity = this.streams
      .map((stream) => (this.detail.get(stream.id) || {}).g)
      .filter(Boolean)
      .map((g) => g.name)
      .join(',');
    this.element.dataset.points = String(
      traces.reduce((sum, trace) => sum + (trace.x ? trace.x.length : 0), 0),
    );
    this.setStatus(parts.join(' · '));
  }
}
