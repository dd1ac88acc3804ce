// Live updates over Server-Sent Events (GET <stream>/live/): no polling. The browser's
// EventSource reconnects by itself and sends Last-Event-ID, so nothing is lost or repeated.

import { pointOfEvent } from './chartdata.js';

/**
 * Follow `stream` at granularity `g` after `after` (a point of the loaded series, or null for
 * "from now on"). `onPoints(points)` receives closed datapoints (raw ones, or closed buckets)
 * in time order; `onOpen(points)` the buckets that are still open, each time they change.
 */
export class LiveFeed {
  constructor(stream, g, raw, valueDownsamplers, after, { onPoints, onOpen, onError }) {
    const params = new URLSearchParams({ granularity: g.name, time_format: 'epoch_ms' });
    if (!raw) {
      if (valueDownsamplers && valueDownsamplers.length)
        params.set('value_downsamplers', valueDownsamplers.join(','));
      params.set('time_downsamplers', 'mean');
      params.set('open_bucket', '1');
    }
    if (after) params.set('start_exclusive', String(after.bucketStart));
    this.url = `${stream.resource_uri}live/?${params}`;
    this.g = g;
    this.raw = raw;
    this.source = new EventSource(this.url);
    this.source.onmessage = (event) => {
      onPoints([pointOfEvent(JSON.parse(event.data), g, raw)]);
    };
    this.source.addEventListener('open_bucket', (event) => {
      onOpen(JSON.parse(event.data).map((datapoint) => pointOfEvent(datapoint, g, raw, true)));
    });
    this.source.addEventListener('error', (event) => {
      if (event.data && onError) onError(JSON.parse(event.data).error);
    });
  }

  close() {
    this.source.close();
  }
}
