/**
 * Prediction maths from polls.proto (PredictionsService): a winner with stake s gets floor(P × s / W),
 * P the total pool and W the winning outcome's pool.
 */

/** Share of the pool on an outcome, 0–100. */
export function outcomeShare(outcomePoints: bigint, totalPoints: bigint): number {
  if (totalPoints <= 0n) return 0;
  return Number((outcomePoints * 100n) / totalPoints);
}

/**
 * What staking `stake` more on an outcome would pay if it wins, given the pools now (the stake joins
 * both pools). `existing` is the caller's current stake on that outcome.
 */
export function potentialPayout(stake: bigint, existing: bigint, outcomePoints: bigint, totalPoints: bigint): bigint {
  if (stake <= 0n && existing <= 0n) return 0n;
  const mine = existing + stake;
  const pool = totalPoints + stake;
  const winning = outcomePoints + stake;
  if (winning <= 0n) return 0n;
  return (pool * mine) / winning;
}

/** Parses a points entry: a positive whole number no larger than the balance, else undefined. */
export function parseStake(text: string, balance: bigint): bigint | undefined {
  const t = text.trim();
  if (!/^\d{1,9}$/.test(t)) return undefined;
  const v = BigInt(t);
  return v > 0n && v <= balance ? v : undefined;
}
