// A small client of the datastream HTTP API: stream list and datapoints, all pages.

export class ApiError extends Error {
  constructor(url, status, message) {
    super(`${status} from ${url}: ${message}`);
    this.url = url;
    this.status = status;
  }
}

export class DatastreamClient {
  /**
   * @param {string} listUrl  URL of the stream list, e.g. "/api/v1/stream/".
   * @param {number} pageLimit  datapoints asked for per page (the API pages with meta.next).
   */
  constructor(listUrl, pageLimit = 1000) {
    this.listUrl = listUrl;
    this.pageLimit = pageLimit;
    this.requests = 0;
  }

  async getJson(url) {
    this.requests += 1;
    const response = await fetch(url, { headers: { Accept: 'application/json' } });
    if (!response.ok) {
      let message = response.statusText;
      try {
        const body = await response.json();
        message = body.error || body.error_message || message;
      } catch (error) {
        // Not JSON: keep the status text.
      }
      throw new ApiError(url, response.status, message);
    }
    return response.json();
  }

  /** Every stream (following meta.next through all pages of the list). */
  async listStreams() {
    const streams = [];
    let url = `${this.listUrl}?format=json&limit=100`;
    while (url) {
      // eslint-disable-next-line no-await-in-loop
      const page = await this.getJson(url);
      streams.push(...page.objects);
      url = page.meta && page.meta.next;
    }
    return streams;
  }

  /**
   * Datapoints of `stream` (an object of the list) at `query.granularity` (a name), from
   * `query.start` to `query.end` (POSIX seconds, inclusive, either may be null), with the
   * given downsamplers; follows meta.next so no page is left out.
   */
  async datapoints(stream, query) {
    const params = new URLSearchParams({ format: 'json', granularity: query.granularity });
    if (query.start != null) params.set('start', String(Math.floor(query.start)));
    if (query.end != null) params.set('end', String(Math.ceil(query.end)));
    if (query.valueDownsamplers)
      params.set('value_downsamplers', query.valueDownsamplers.join(','));
    if (query.timeDownsamplers) params.set('time_downsamplers', query.timeDownsamplers.join(','));
    params.set('limit', String(this.pageLimit));
    let url = `${stream.resource_uri}?${params}`;
    const datapoints = [];
    while (url) {
      // eslint-disable-next-line no-await-in-loop
      const page = await this.getJson(url);
      datapoints.push(...page.datapoints);
      url = page.meta && page.meta.next;
    }
    return datapoints;
  }
}
