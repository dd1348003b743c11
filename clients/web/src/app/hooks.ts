import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { describeError } from "../lib/errors";

/**
 * Re-renders the component whenever `subscribe`'s callback fires. SDK objects (RoomSession, clock) are
 * mutable and keep themselves current; screens read them during render and only need a nudge.
 */
export function useRerenderOn(subscribe: ((cb: () => void) => () => void) | null, deps: readonly unknown[]): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (!subscribe) return;
    return subscribe(() => bump());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
}

/** Calls `handler` with the latest closure without resubscribing on every render. */
export function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  ref.current = value;
  return ref;
}

/** A value refreshed every `ms` (drift, positions, countdowns). */
export function useTicker<T>(read: () => T, ms: number): T {
  const readRef = useLatest(read);
  const [value, setValue] = useState<T>(read);
  useEffect(() => {
    const id = window.setInterval(() => setValue(readRef.current()), ms);
    return () => window.clearInterval(id);
  }, [ms, readRef]);
  return value;
}

/** True while the user prefers reduced motion (bursts become a static count). */
export function usePrefersReducedMotion(): boolean {
  const [reduced, setReduced] = useState(() => window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ?? false);
  useEffect(() => {
    const mq = window.matchMedia?.("(prefers-reduced-motion: reduce)");
    if (!mq) return;
    const on = () => setReduced(mq.matches);
    mq.addEventListener("change", on);
    return () => mq.removeEventListener("change", on);
  }, []);
  return reduced;
}

/**
 * Runs a user action against the server with the shared busy/error handling: clears the last error,
 * sets `busy` (buttons disable themselves with it), reports a failure as a readable `error` for the
 * component's role="alert" line, and clears `busy` again whatever happened. One copy instead of the same
 * try/catch/finally in every panel and dialog. `setError` is exposed for a component's own validation
 * messages.
 */
export function useAction(): {
  busy: boolean;
  error: string | null;
  setError: (error: string | null) => void;
  run: (fn: () => Promise<unknown>) => Promise<void>;
} {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    setError(null);
    setBusy(true);
    try {
      await fn();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
