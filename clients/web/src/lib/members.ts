import { Readiness } from "./proto";

export type ReadinessTone = "ready" | "buffering" | "failed" | "none";

/**
 * How a member's player state reads in the People list (docs/sync.md §6): a released member who is not
 * ready is catching up alone; otherwise their last report.
 */
export function readinessText(pb: { readiness: Readiness; released: boolean } | undefined): { text: string; tone: ReadinessTone } {
  if (pb?.released && pb.readiness !== Readiness.READY) return { text: "Catching up", tone: "buffering" };
  switch (pb?.readiness) {
    case Readiness.READY:
      return { text: "Ready", tone: "ready" };
    case Readiness.BUFFERING:
      return { text: "Buffering", tone: "buffering" };
    case Readiness.FAILED:
      return { text: "Can't play", tone: "failed" };
    default:
      return { text: "Not ready", tone: "none" };
  }
}
