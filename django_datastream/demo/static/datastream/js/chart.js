// One plotly chart per group of streams: mean lines in min/max bands, counts as bars.

import { ceilTo, chooseGranularity, floorTo, granularity } from './granularity.js';
import { Series, countsPerBucket, mergeSeries, parseTime } from './series.js';
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

function rgba(hex, alpha) {
  const value = parseInt(hex.slice(1), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
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

  /** The window to request for a stream when the chart shows `view` (ms). */
  windowFor(stream, view) {
    const [earliest, latest] = extremes(stream);
    if (earliest === null || latest === null) return null;
    const start = view[0] / 1000;
    const end = view[1] / 1000;
    const g = chooseGranularity(
      Math.max(end - start, 1),
      granularity(stream.highest_granularity),
      this.options.maxBuckets,
    );
    const pad = (end - start) * 0.1;
    const from = floorTo(Math.max(start - pad, earliest), g);
    const to = end + pad >= latest ? null : ceilTo(Math.min(end + pad, latest), g);
    return {
      g,
      from,
      to,
      needFrom: floorTo(Math.max(start, earliest), g),
      needTo: end >= latest ? null : ceilTo(end, g),
    };
  }

  /** Load the whole history of every stream coarsely (range slider) and the initial view. */
  async init(view) {
    const jobs = this.streams.map(async (stream) => {
      const [earliest, latest] = extremes(stream);
      if (earliest === null) return;
      const g = chooseGranularity(
        Math.max(latest - earliest, 1),
        granularity(stream.highest_granularity),
        this.options.maxBuckets,
      );
      const series = new Series(
        stream,
        g,
        floorTo(earliest, g),
        null,
        stream.view.valueDownsamplers,
      );
      this.overview.set(stream.id, series);
      await series.load(this.page.client, latest);
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

  /** Show `view` ([ms, ms]); reload streams whose loaded data does not cover it finely enough. */
  async setView(view) {
    this.view = view;
    const seq = ++this.loadSeq;
    const jobs = [];
    for (const stream of this.streams) {
      const window = this.windowFor(stream, view);
      if (!window) continue;
      const loaded = this.detail.get(stream.id);
      if (loaded && loaded.covers(window.g, window.needFrom, window.needTo)) continue;
      const series = new Series(
        stream,
        window.g,
        window.from,
        window.to,
        stream.view.valueDownsamplers,
      );
      jobs.push(
        series.load(this.page.client, extremes(stream)[1]).then(() => {
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
    if (seq === this.loadSeq) this.render();
  }

  /** Live update: fetch what is newer than the last closed bucket of each open series. */
  async poll(changed) {
    const jobs = [];
    let firstData = false;
    for (const stream of this.streams) {
      if (!changed.has(stream.id)) continue;
      const latest = extremes(stream)[1];
      if (!this.overview.has(stream.id)) firstData = true;
      for (const series of [this.overview.get(stream.id), this.detail.get(stream.id)]) {
        if (series && series.to === null) jobs.push(series.refreshTail(this.page.client, latest));
      }
    }
    if (firstData) {
      await this.init(this.view);
      return;
    }
    if (!jobs.length) return;
    await this.track(Promise.all(jobs));
    // A window followed live for long gathers many points: reload it at its proper size.
    let oversized = false;
    for (const [id, series] of this.detail) {
      if (series.points.length > 3 * this.options.maxBuckets) {
        this.detail.delete(id);
        oversized = true;
      }
    }
    if (oversized) await this.setView(this.view);
    else this.render();
  }

  traces() {
    const traces = [];
    for (const stream of this.streams) {
      const axis = this.axisOf.get(stream.id);
      const color = COLORS[this.page.colorIndex(stream) % COLORS.length];
      const merged = mergeSeries(this.overview.get(stream.id), this.detail.get(stream.id));
      // The newest bucket is still filling up: drawn apart, as a hollow marker.
      const points = merged.filter((point) => !point.provisional);
      const newest = merged.filter((point) => point.provisional);
      const x = points.map((point) => point.t);
      const common = {
        legendgroup: stream.id,
        yaxis: axis.id,
        visible: stream.view.hidden ? 'legendonly' : true,
        meta: { streamId: stream.id },
      };
      const title = streamTitle(stream);
      const { keys, type } = stream.view;
      if (type === 'line' || type === 'stack') {
        const hasBand = keys.includes('l') || keys.includes('u');
        if (hasBand && type === 'line') {
          const lowKey = keys.includes('l') ? 'l' : 'm';
          const highKey = keys.includes('u') ? 'u' : 'm';
          traces.push({
            ...common,
            name: `${title} min`,
            x,
            y: points.map((p) => p[lowKey]),
            type: 'scatter',
            mode: 'lines',
            line: { width: 0, color },
            showlegend: false,
            connectgaps: false,
            hovertemplate: `${title} min: %{y:.2f}<extra></extra>`,
          });
          traces.push({
            ...common,
            name: `${title} max`,
            x,
            y: points.map((p) => p[highKey]),
            type: 'scatter',
            mode: 'lines',
            line: { width: 0, color },
            fill: 'tonexty',
            fillcolor: rgba(color, 0.25),
            showlegend: false,
            connectgaps: false,
            hovertemplate: `${title} max: %{y:.2f}<extra></extra>`,
          });
        }
        if (keys.includes('m')) {
          traces.push({
            ...common,
            name: title,
            x,
            y: points.map((p) => p.m),
            type: 'scatter',
            // Markers only where they can be told apart: few points in the visible window.
            mode: this.visibleCount(points) <= MARKERS_UP_TO ? 'lines+markers' : 'lines',
            line: { width: 1.5, color },
            marker: { size: 4, color },
            connectgaps: false,
            stackgroup: type === 'stack' ? `stack-${axis.id}` : undefined,
            hovertemplate: `${title} mean: %{y:.2f}<extra></extra>`,
          });
          traces.push({
            ...common,
            name: `${title} (newest bucket, incomplete)`,
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
        const detail = this.detail.get(stream.id) || this.overview.get(stream.id);
        const buckets = countsPerBucket(merged, detail ? detail.g : granularity('seconds')).filter(
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
    return Boolean(detail && detail.g === detail.highest);
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
