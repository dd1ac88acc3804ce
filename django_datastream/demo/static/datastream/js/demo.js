// The demo page: a menu of every stream, one chart per stream group, synchronised zooming,
// and live updates while data is appended.

import { DatastreamClient } from './api.js';
import { StreamChart, extremes, toMs } from './chart.js';
import { LiveFeed } from './live.js';
import { granularity } from './granularity.js';
import { describe, groupStreams, streamTitle } from './streams.js';

const DAY_MS = 24 * 3600 * 1000;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function tagText(value) {
  if (value === null || typeof value !== 'object') return String(value);
  return JSON.stringify(value);
}

export class DemoPage {
  constructor(root, options) {
    this.root = root;
    this.options = options;
    this.client = new DatastreamClient(options.streamListUrl, options.pageLimit);
    this.streams = [];
    this.charts = [];
    this.view = null;
    this.latestMs = null;
    this.colors = new Map();
    this.relayoutTimer = null;
    this.followTimer = null;
    this.waiting = new Map();
  }

  /** Live updates (Server-Sent Events) are on unless the page was opened with ?poll=0. */
  get live() {
    return this.options.pollSeconds > 0;
  }

  colorIndex(stream) {
    if (!this.colors.has(stream.id)) this.colors.set(stream.id, this.colors.size);
    return this.colors.get(stream.id);
  }

  setStatus(text, isError = false) {
    const status = this.root.querySelector('#ds-page-status');
    status.textContent = text;
    status.classList.toggle('ds-error', isError);
  }

  async start() {
    this.setStatus('Loading streams…');
    this.streams = await this.client.listStreams();
    for (const stream of this.streams) {
      stream.view = describe(stream);
      this.colorIndex(stream);
    }
    this.renderMenu();
    const chartable = this.streams.filter((stream) => stream.view.chartable);
    const groups = groupStreams(chartable);
    const container = this.root.querySelector('#ds-charts');
    container.textContent = '';
    if (!groups.length) {
      container.append(
        element(
          'p',
          'ds-empty',
          'No chartable streams yet. Run "manage.py dummystream --demo" to create some.',
        ),
      );
    }
    this.charts = groups.map((members, index) => {
      const box = element('section', 'ds-chart');
      box.id = `ds-chart-${index}`;
      box.dataset.streams = members.map((stream) => stream.id).join(',');
      const heading = element('h2', 'ds-chart-title', members.map(streamTitle).join(', '));
      box.append(heading, element('div', 'ds-plot'), element('p', 'ds-status', 'Loading…'));
      container.append(box);
      return new StreamChart(this, box, members, index);
    });
    this.view = this.initialView();
    this.updateLatest();
    await Promise.all(this.charts.map((chart) => this.initChart(chart)));
    this.setStatus(this.summary());
    document.body.dataset.state = 'ready';
  }

  /** Draw a chart, or say that there is nothing to draw yet (and wait for its first data). */
  initChart(chart) {
    if (this.view) return chart.init(this.view);
    chart.setStatus('No datapoints yet; waiting for data…');
    if (this.live) {
      for (const stream of chart.streams) this.waitForData(stream);
    }
    return null;
  }

  /** Follow a stream without data until its first datapoint, then draw every chart. */
  waitForData(stream) {
    if (this.waiting.has(stream.id)) return;
    const g = granularity(stream.highest_granularity);
    const feed = new LiveFeed(stream, g, true, null, null, {
      onPoints: (points) => {
        if (!stream.earliest_datapoint) stream.earliest_datapoint = points[0].t;
        stream.latest_datapoint = points[points.length - 1].t;
        if (this.view || this.starting) return;
        // The first data: wait a moment for the rest of the burst, then draw.
        this.starting = setTimeout(() => this.firstData(), 500);
      },
      onOpen: () => {},
    });
    this.waiting.set(stream.id, feed);
  }

  async firstData() {
    for (const feed of this.waiting.values()) feed.close();
    this.waiting.clear();
    this.starting = null;
    this.updateLatest();
    this.view = this.initialView();
    await Promise.all(this.charts.map((chart) => this.initChart(chart)));
    this.setStatus(this.summary());
  }

  /**
   * A live feed brought data up to `ms`: remember it, and while the right edge of the window
   * is at the newest data, move the window along (every chart, at most twice a second).
   */
  noteLatest(stream, ms) {
    const [, latest] = extremes(stream);
    if (latest === null || ms > latest * 1000) stream.latest_datapoint = ms;
    const previous = this.latestMs;
    this.updateLatest();
    if (!this.view || previous === null || this.latestMs <= previous) return;
    const width = this.view[1] - this.view[0];
    if (this.view[1] < previous - width * 0.02) return;
    const shift = this.latestMs - previous;
    this.view = [this.view[0] + shift, this.view[1] + shift];
    if (this.followTimer) return;
    this.followTimer = setTimeout(() => {
      this.followTimer = null;
      this.setView(this.view);
    }, 500);
  }

  summary() {
    const live = this.live ? 'live updates over Server-Sent Events' : 'live updates off';
    const counts = `${plural(this.streams.length, 'stream')} in ${plural(this.charts.length, 'chart')}`;
    return `${counts} · ${live} · times in UTC`;
  }

  extent() {
    let earliest = null;
    let latest = null;
    for (const stream of this.streams) {
      const [first, last] = extremes(stream);
      if (first !== null && (earliest === null || first < earliest)) earliest = first;
      if (last !== null && (latest === null || last > latest)) latest = last;
    }
    return earliest === null || latest === null
      ? null
      : [earliest * 1000, Math.max(latest, earliest + 1) * 1000];
  }

  /** The last day of data (or everything, when there is less). */
  initialView() {
    const extent = this.extent();
    if (!extent) return null;
    return [Math.max(extent[1] - DAY_MS, extent[0]), extent[1]];
  }

  updateLatest() {
    const extent = this.extent();
    this.latestMs = extent ? extent[1] : null;
  }

  renderMenu() {
    const menu = this.root.querySelector('#ds-menu');
    menu.textContent = '';
    menu.append(element('h2', null, `Streams (${this.streams.length})`));
    const list = element('ul', 'ds-stream-list');
    for (const stream of this.streams) {
      const item = element('li', 'ds-stream');
      item.dataset.streamId = stream.id;
      const title = element('a', 'ds-stream-title', streamTitle(stream));
      title.href = `#${stream.id}`;
      title.addEventListener('click', (event) => {
        event.preventDefault();
        const chart = this.charts.find((c) => c.streams.includes(stream));
        if (chart) chart.element.scrollIntoView({ behavior: 'smooth' });
      });
      item.append(title);
      const facts = `${stream.value_type} · ${stream.highest_granularity}`;
      item.append(element('span', 'ds-stream-facts', ` ${facts}`));
      if (!stream.view.chartable) {
        item.classList.add('ds-not-chartable');
        item.append(element('p', 'ds-note', `Not chartable: ${stream.view.reason}.`));
      } else if (stream.view.hidden) {
        item.append(element('p', 'ds-note', 'Hidden at first: click its legend entry to show it.'));
      }
      const tags = element('dl', 'ds-tags');
      for (const [key, value] of Object.entries(stream.tags)) {
        if (key === 'title') continue;
        const text = tagText(value);
        const cell = element('dd', null, text);
        cell.title = text; // the whole value on hover (long ones are cut off with an ellipsis)
        tags.append(element('dt', null, key), cell);
      }
      item.append(tags);
      list.append(item);
    }
    menu.append(list);
  }

  /** A chart's x range changed by the user (zoom, pan, range buttons, slider). */
  onRelayout(chart, event) {
    const keys = Object.keys(event);
    let range = null;
    if (keys.includes('xaxis.autorange')) {
      range = this.extent();
    } else if (keys.some((key) => key.startsWith('xaxis.range'))) {
      range = chart.plot.layout.xaxis.range.map(toMs);
    }
    if (!range) return;
    clearTimeout(this.relayoutTimer);
    this.relayoutTimer = setTimeout(() => this.setView(range), 120);
  }

  setView(range) {
    this.view = range;
    return Promise.all(this.charts.map((chart) => chart.setView(range)));
  }

}

function boot() {
  const config = JSON.parse(document.getElementById('datastream-config').textContent);
  const page = new DemoPage(document.getElementById('ds-app'), config);
  window.datastreamDemo = page;
  if (!window.Plotly) {
    page.setStatus(
      'plotly.js did not load: install the "plotly" package and add ' +
        'django_datastream.staticfinders.PlotlyFinder to STATICFILES_FINDERS.',
      true,
    );
    return;
  }
  page.start().catch((error) => {
    page.setStatus(`Could not load the streams: ${error.message}`, true);
    console.error(error);
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();

/** "1 stream", "3 streams". */
function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
