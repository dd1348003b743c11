/**
 * NTP-style server clock estimation (docs/sync.md §1, docs/protocol.md §2):
 * keep the last 8 ping samples and use the offset of the one with the
 * lowest round trip, whose error bound (rtt / 2) is the tightest.
 */

/** Samples kept for clock sync (sync.md CLOCK_SAMPLES; not configurable). */
export const CLOCK_SAMPLES = 8;

export interface ClockSample {
  /** Round trip in ms: t1 − t0. */
  rttMs: number;
  /** Server minus local clock in ms: ts − (t0 + t1) / 2. */
  offsetMs: number;
}

/** Computes one sample from a ping sent at local t0, answered at server ts, received at local t1. */
export function clockSample(t0: number, t1: number, serverMs: number): ClockSample {
  return { rttMs: t1 - t0, offsetMs: serverMs - (t0 + t1) / 2 };
}

/** The pure estimator: a ring of the last CLOCK_SAMPLES samples, best = lowest rtt. */
export class ClockEstimator {
  private readonly samples: ClockSample[] = [];

  add(sample: ClockSample): void {
    if (!Number.isFinite(sample.rttMs) || sample.rttMs < 0) return;
    this.samples.push(sample);
    if (this.samples.length > CLOCK_SAMPLES) this.samples.shift();
  }

  /** The sample with the lowest rtt, or undefined before the first one. */
  best(): ClockSample | undefined {
    let best: ClockSample | undefined;
    for (const s of this.samples) if (!best || s.rttMs < best.rttMs) best = s;
    return best;
  }

  get size(): number {
    return this.samples.length;
  }

  clear(): void {
    this.samples.length = 0;
  }
}

/** What the clock needs from the connection: one ping round trip. */
export type PingFn = () => Promise<{ t0: number; t1: number; serverMs: number }>;

/** Cadence of sync.md §1: bursts of 3 pings about 200 ms apart. */
export const BURST_PINGS = 3;
export const BURST_SPACING_MS = 200;

/**
 * The client's estimate of the gateway's clock. Kept by HearthClient: it
 * bursts after every (re)connect and room entry, and pings at least every
 * 10 s while in a room (every heartbeat interval otherwise).
 */
export class ServerClock {
  private readonly estimator = new ClockEstimator();
  private readonly localNow: () => number;
  private pingFn: PingFn | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private seedOffset: number | undefined;
  private bursting: Promise<void> | null = null;

  /** @internal constructed by HearthClient. */
  constructor(opts: { now: () => number; sleep: (ms: number) => Promise<void>; ping?: PingFn }) {
    this.localNow = opts.now;
    this.sleep = opts.sleep;
    this.pingFn = opts.ping;
  }

  /** Server minus local clock, ms (0 before any estimate). */
  get offsetMs(): number {
    return this.estimator.best()?.offsetMs ?? this.seedOffset ?? 0;
  }

  /** Round trip of the best sample, ms (NaN before the first ping). */
  get rttMs(): number {
    return this.estimator.best()?.rttMs ?? Number.NaN;
  }

  /** True once at least one ping sample was taken on the current connection. */
  get synced(): boolean {
    return this.estimator.size > 0;
  }

  /** Server time now, Unix ms. */
  now(): number {
    return this.localNow() + this.offsetMs;
  }

  /** The local clock reading at which the server clock shows `serverMs`. */
  toLocal(serverMs: number): number {
    return serverMs - this.offsetMs;
  }

  /** Records one ping round trip (also used by tests and custom transports). */
  addSample(t0: number, t1: number, serverMs: number): void {
    this.estimator.add(clockSample(t0, t1, serverMs));
  }

  /** Sends a burst of 3 pings ~200 ms apart; resolves when they are answered (or failed). */
  sync(): Promise<void> {
    if (!this.bursting) {
      this.bursting = this.burst().finally(() => {
        this.bursting = null;
      });
    }
    return this.bursting;
  }

  /** One ping now. Failures (disconnects, timeouts) just yield no sample. */
  async pingOnce(): Promise<void> {
    if (!this.pingFn) return;
    try {
      const { t0, t1, serverMs } = await this.pingFn();
      this.addSample(t0, t1, serverMs);
    } catch {
      // No sample: the next ping or burst tries again.
    }
  }

  private async burst(): Promise<void> {
    const pings: Promise<void>[] = [];
    for (let i = 0; i < BURST_PINGS; i++) {
      if (i > 0) await this.sleep(BURST_SPACING_MS);
      pings.push(this.pingOnce());
    }
    await Promise.all(pings);
  }

  /**
   * @internal A new connection: the gateway may be another host with its own
   * clock, so old samples no longer apply. The last offset seeds the
   * estimate until the first new sample, which beats jumping to 0.
   */
  reset(seedServerMs?: number): void {
    const previous = this.estimator.best()?.offsetMs ?? this.seedOffset;
    this.estimator.clear();
    // `connected.serverTime` bounds the offset within one one-way delay;
    // prefer it to a previous gateway's offset.
    this.seedOffset = seedServerMs !== undefined ? seedServerMs - this.localNow() : previous;
  }

  /** @internal */
  setPing(ping: PingFn | undefined): void {
    this.pingFn = ping;
  }
}
