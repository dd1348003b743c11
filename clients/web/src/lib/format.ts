/** Compact counts for cards: 999, 1.2K, 12K, 3.4M. */
export function formatCount(n: bigint | number): string {
  const v = typeof n === "bigint" ? Number(n) : n;
  if (!Number.isFinite(v) || v < 0) return "0";
  if (v < 1000) return String(Math.floor(v));
  if (v < 10_000) return `${(Math.floor(v / 100) / 10).toFixed(1).replace(/\.0$/, "")}K`;
  if (v < 1_000_000) return `${Math.floor(v / 1000)}K`;
  return `${(Math.floor(v / 100_000) / 10).toFixed(1).replace(/\.0$/, "")}M`;
}

/** Exact integer text for test read-outs and live regions (uint64 arrives as bigint). */
export function integerText(n: bigint | number | undefined): string {
  if (n === undefined) return "0";
  return typeof n === "bigint" ? n.toString() : String(Math.round(n));
}
