import { describe, expect, it } from "vitest";
import { readinessText } from "./members";
import { Readiness } from "./proto";

describe("readinessText", () => {
  it("shows the last report", () => {
    expect(readinessText({ readiness: Readiness.READY, released: false })).toEqual({ text: "Ready", tone: "ready" });
    expect(readinessText({ readiness: Readiness.BUFFERING, released: false }).text).toBe("Buffering");
    expect(readinessText({ readiness: Readiness.FAILED, released: false }).tone).toBe("failed");
  });
  it("marks released members who are not ready as catching up", () => {
    expect(readinessText({ readiness: Readiness.BUFFERING, released: true }).text).toBe("Catching up");
    expect(readinessText({ readiness: Readiness.READY, released: true }).text).toBe("Ready");
  });
  it("treats no report as not ready", () => {
    expect(readinessText(undefined)).toEqual({ text: "Not ready", tone: "none" });
    expect(readinessText({ readiness: Readiness.UNSPECIFIED, released: false }).text).toBe("Not ready");
  });
});
