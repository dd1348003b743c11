/**
 * Errors surfaced by the SDK. Both carry the gateway's stable snake_case
 * `code` (docs/protocol.md §4) so apps branch on codes, never on messages.
 */

/** The reason a service put first in `message` ("<reason>: <text>"), if any. */
function reasonOf(message: string): string | undefined {
  const match = /^([a-z][a-z0-9_]*):\s/.exec(message);
  return match?.[1];
}

/**
 * A refused WebSocket request (an `error` frame), or a client-side failure.
 *
 * Server codes are those of docs/protocol.md §4 (`invalid_argument`,
 * `permission_denied`, `rate_limited`, …). Client-side codes:
 * - `timeout`: no reply within `requestTimeoutMs`; the outcome is unknown.
 * - `disconnected`: the connection dropped after the frame was sent; the
 *   outcome is unknown (resend idempotent requests, e.g. `sendMessage`).
 * - `not_connected`: the client is idle or closed.
 * - `closed`: `close()` was called while the request waited.
 * - `connection_failed`: the WebSocket could not be opened.
 * - `protocol_error`: the gateway answered with an unexpected frame kind.
 */
export class HearthError extends Error {
  override readonly name = "HearthError";
  readonly code: string;
  /** `invalid_argument`: the offending request field (snake_case path). */
  readonly field?: string;
  /** Set when a retry can succeed (rate limits, slow mode, timeouts). */
  readonly retryAfterMs?: number;

  constructor(code: string, message: string, opts: { field?: string; retryAfterMs?: number } = {}) {
    super(message || code);
    this.code = code;
    if (opts.field) this.field = opts.field;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }

  /** The stable refusal reason (e.g. `slow_mode`, `version_conflict`), when the service gave one. */
  get reason(): string | undefined {
    return reasonOf(this.message);
  }

  /** True for failures whose outcome is unknown: the request may or may not have run. */
  get outcomeUnknown(): boolean {
    return this.code === "timeout" || this.code === "disconnected" || this.code === "deadline_exceeded";
  }
}

/** A refusal of the HTTP auth API (docs/protocol.md §"HTTP auth API"), or signed-out state. */
export class HearthAuthError extends Error {
  override readonly name = "HearthAuthError";
  /** HTTP status; 0 for network failures and for calls made while signed out. */
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  readonly retryAfterMs?: number;

  constructor(
    status: number,
    code: string,
    message: string,
    opts: { field?: string; retryAfterMs?: number } = {},
  ) {
    super(message || code);
    this.status = status;
    this.code = code;
    if (opts.field) this.field = opts.field;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}
