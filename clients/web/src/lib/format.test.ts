import { describe, expect, it } from "vitest";
import { formatCount, integerText } from "./format";

describe("formatCount", () => {
  it("compacts large numbers without rounding up", () => {
    expect(formatCount(0)).toBe("0");
    expect(formatCount(999n)).toBe("999");
    expect(formatCount(1000)).toBe("1K");
    expect(formatCount(1290)).toBe("1.2K");
    expect(formatCount(12_999)).toBe("12K");
    expect(formatCount(3_450_000n)).toBe("3.4M");
    expect(formatCount(-1)).toBe("0");
  });
  it("prints exact integers", () => {
    expect(integerText(12n)).toBe("12");
    expect(integerText(12.4)).toBe("12");
    expect(integerText(undefined)).toBe("0");
  });
});
