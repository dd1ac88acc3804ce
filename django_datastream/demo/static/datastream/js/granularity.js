// Granularities of the datastream API (from the server) and the choice of one for a window.

/**
 * The granularities, finest first ({name, key, seconds}), as the server's datastream library
 * defines them: read from the page's `datastream-config` JSON (never a copy kept here).
 */
function serverTable() {
  const script = document.getElementById('datastream-config');
  const table = script ? JSON.parse(script.textContent).granularities : null;
  if (!Array.isArray(table) || !table.length) {
    throw new Error('The page has no granularity table (datastream-config.granularities).');
  }
  return Object.freeze(table.map((g) => Object.freeze({ ...g })));
}

export const GRANULARITIES = serverTable();

/** The granularity object for a name or key ("10seconds" or "S"); throws if unknown. */
export function granularity(nameOrKey) {
  const found = GRANULARITIES.find((g) => g.name === nameOrKey || g.key === nameOrKey);
  if (!found) throw new Error(`Unknown granularity: ${nameOrKey}`);
  return found;
}

/**
 * The finest granularity that shows a window of `spanSeconds` in at most `maxBuckets` buckets,
 * never finer than the stream's `highest` granularity; days if even days give more buckets.
 */
export function chooseGranularity(spanSeconds, highest, maxBuckets) {
  const start = GRANULARITIES.indexOf(granularity(highest.name || highest));
  for (let i = start; i < GRANULARITIES.length; i += 1) {
    if (spanSeconds / GRANULARITIES[i].seconds <= maxBuckets) return GRANULARITIES[i];
  }
  return GRANULARITIES[GRANULARITIES.length - 1];
}

/** The next finer granularity than `g`, or null when `g` is already the stream's highest. */
export function finer(g, highest) {
  const index = GRANULARITIES.indexOf(g);
  const top = GRANULARITIES.indexOf(highest);
  return index > top ? GRANULARITIES[index - 1] : null;
}

/** Start of the bucket of `g` holding POSIX `seconds`. */
export function floorTo(seconds, g) {
  return Math.floor(seconds / g.seconds) * g.seconds;
}

/** Smallest bucket boundary of `g` at or after POSIX `seconds`. */
export function ceilTo(seconds, g) {
  return Math.ceil(seconds / g.seconds) * g.seconds;
}
