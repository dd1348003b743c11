/**
 * Sync drift between two players on the same machine. Each page samples
 * its own `(currentTime, Date.now())` in one synchronous step; the two
 * samples are taken a few milliseconds apart, so the host's sample is
 * extrapolated to the guest's instant by the host's playback rate (both
 * pages share the machine clock, so `Date.now()` values are comparable).
 */

/**
 * @typedef {object} PlayerSample
 * @property {number} position  media position in seconds (video.currentTime)
 * @property {number} at        Date.now() when the position was read, ms
 * @property {number} rate      video.playbackRate
 * @property {boolean} paused   video.paused
 */

/** Where a player that produced `sample` is at wall-clock `atMs`, in seconds. */
export function positionAt(sample, atMs) {
  if (sample.paused) return sample.position;
  return sample.position + ((atMs - sample.at) / 1000) * sample.rate;
}

/** Signed drift of `guest` relative to `reference` at the guest's sampling instant, in ms. */
export function driftMs(reference, guest) {
  return (guest.position - positionAt(reference, guest.at)) * 1000;
}

/** Median and extremes of absolute values (drifts are judged by magnitude). */
export function summarize(values) {
  if (values.length === 0) throw new Error("summarize needs at least one value");
  const magnitudes = values.map(Math.abs).sort((a, b) => a - b);
  const middle = Math.floor(magnitudes.length / 2);
  const median =
    magnitudes.length % 2 === 1
      ? /** @type {number} */ (magnitudes[middle])
      : (/** @type {number} */ (magnitudes[middle - 1]) + /** @type {number} */ (magnitudes[middle])) / 2;
  return {
    count: magnitudes.length,
    median,
    max: /** @type {number} */ (magnitudes[magnitudes.length - 1]),
    min: /** @type {number} */ (magnitudes[0]),
  };
}

/** "median 12.3 ms, max 40.1 ms over 10 samples" */
export function formatSummary(summary) {
  return `median ${summary.median.toFixed(1)} ms, max ${summary.max.toFixed(1)} ms over ${summary.count} samples`;
}

/**
 * True when the last `window` drifts are all within `limitMs` — the
 * "settled" test: one good sample can be luck, a run of them is not.
 */
export function settled(drifts, limitMs, window = 3) {
  if (drifts.length < window) return false;
  return drifts.slice(-window).every((d) => Math.abs(d) <= limitMs);
}
