/** A minimal typed event emitter: listeners never break the emitter's caller. */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(value: never) => void>>();

  on<E extends keyof Events>(event: E, cb: (value: Events[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const fn = cb as (value: never) => void;
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }

  emit<E extends keyof Events>(event: E, value: Events[E]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as (value: Events[E]) => void)(value);
      } catch (err) {
        // A faulty app listener must not corrupt protocol state (the frame
        // loop keeps going); report it the way the platform reports errors.
        reportListenerError(err);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}

function reportListenerError(err: unknown): void {
  const g = globalThis as { reportError?: (e: unknown) => void };
  if (typeof g.reportError === "function") g.reportError(err);
  else console.error("@hearth/sdk: event listener threw", err);
}
