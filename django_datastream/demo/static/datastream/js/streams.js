// What the page makes of a stream of the list API: how to draw it and with whom.

const LINE_KEYS = { mean: 'm', min: 'l', max: 'u' };
const SUPPORTED_TYPES = ['line', 'stack', 'event', 'state'];

/** The unit of a stream: one rule for axis titles and for grouping (never two). */
export function unitOf(stream) {
  const visualization = stream.tags.visualization || {};
  return visualization.unit ?? stream.tags.unit ?? null;
}

/** Title of the y axis of a stream: "<unit_description> [<unit>]". */
export function axisTitle(stream) {
  const unit = unitOf(stream);
  const description = stream.tags.unit_description || '';
  return [description, unit ? `[${unit}]` : ''].filter(Boolean).join(' ') || 'value';
}

export function streamTitle(stream) {
  return String(stream.tags.title || stream.id);
}

/**
 * How to chart `stream`: {chartable, reason, type, hidden, keys (m/l/u used), valueDownsamplers,
 * minimum, maximum, with}. Streams without a `visualization` tag get a default: a mean/min/max
 * line for numbers, counts as events otherwise.
 */
export function describe(stream) {
  const visualization = stream.tags.visualization || {};
  const stored = stream.value_downsamplers || [];
  const numeric = stream.value_type === 'numeric';
  let type = visualization.type || (numeric ? 'line' : 'event');
  if (!SUPPORTED_TYPES.includes(type)) {
    return { chartable: false, reason: `visualization type '${type}' is not supported` };
  }
  if (!numeric && (type === 'line' || type === 'stack')) type = 'event';
  if (numeric && type === 'state') type = 'line';
  const wanted = visualization.value_downsamplers || ['mean', 'min', 'max'];
  let valueDownsamplers;
  let keys = [];
  if (type === 'line' || type === 'stack') {
    valueDownsamplers = wanted.filter((name) => name in LINE_KEYS && stored.includes(name));
    if (type === 'stack') valueDownsamplers = valueDownsamplers.filter((name) => name === 'mean');
    keys = valueDownsamplers.map((name) => LINE_KEYS[name]);
    // Counts weigh the finer buckets that make up the newest, still open bucket.
    if (keys.length && stored.includes('count'))
      valueDownsamplers = [...valueDownsamplers, 'count'];
    if (!keys.length) {
      if (!stored.length) {
        // Only raw data exists: draw it as a line when zoomed in far enough.
        keys = ['m'];
      } else {
        return { chartable: false, reason: 'it has none of the mean, min and max downsamplers' };
      }
    }
  } else {
    valueDownsamplers = stored.includes('count') ? ['count'] : [];
    keys = ['c'];
  }
  return {
    chartable: true,
    reason: null,
    type,
    hidden: Boolean(visualization.hidden),
    keys,
    valueDownsamplers,
    minimum: typeof visualization.minimum === 'number' ? visualization.minimum : null,
    maximum: typeof visualization.maximum === 'number' ? visualization.maximum : null,
    with: visualization.with && typeof visualization.with === 'object' ? visualization.with : null,
  };
}

function deepEqual(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** True if `stream` declares (visualization.with) that it belongs with `other`. */
function declaresWith(stream, other) {
  const wanted = stream.view.with;
  if (!wanted) return false;
  return Object.entries(wanted).every(([key, value]) => deepEqual(other.tags[key], value));
}

function together(a, b) {
  return declaresWith(a, b) || declaresWith(b, a);
}

function sameAxis(a, b) {
  if (a.view.type === 'event' || b.view.type === 'event') return true;
  return (
    a.view.minimum === b.view.minimum &&
    a.view.maximum === b.view.maximum &&
    unitOf(a) === unitOf(b)
  );
}

/**
 * Group chartable streams (each with `.view = describe(stream)`) into charts: a stream shares a
 * chart with streams it is "with" (either side declaring it) when their axes are compatible.
 * An event stream that is "with" others goes into every chart holding a match.
 */
export function groupStreams(streams) {
  const groups = [];
  const followers = [];
  for (const stream of streams) {
    if (stream.view.type === 'event' && stream.view.with) {
      followers.push(stream);
      continue;
    }
    const group = groups.find((members) =>
      members.every((member) => together(stream, member) && sameAxis(stream, member)),
    );
    if (group) {
      group.push(stream);
    } else {
      if (groups.some((members) => members.some((member) => together(stream, member)))) {
        console.warn(`Stream "${streamTitle(stream)}" has an incompatible axis; charted alone.`);
      }
      groups.push([stream]);
    }
  }
  for (const follower of followers) {
    const matching = groups.filter((members) =>
      members.some((member) => declaresWith(follower, member)),
    );
    if (matching.length) matching.forEach((members) => members.push(follower));
    else groups.push([follower]);
  }
  return groups;
}
