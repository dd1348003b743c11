import assert from "node:assert/strict";
import { test } from "node:test";

import { blocking, countByImpact, describeViolations, formatCounts } from "../lib/axe.mjs";

const violation = (id, impact, nodes = 1) => ({
  id,
  impact,
  help: `help for ${id}`,
  nodes,
  examples: [{ target: `#${id}`, summary: `Fix ${id}` }],
});

test("counts rules per impact, with every impact present", () => {
  const counts = countByImpact([violation("a", "serious", 3), violation("b", "minor"), violation("c", "serious")]);
  assert.deepEqual(counts, { minor: 1, moderate: 0, serious: 2, critical: 0 });
  assert.deepEqual(countByImpact([]), { minor: 0, moderate: 0, serious: 0, critical: 0 });
});

test("an unknown or missing impact counts as minor", () => {
  assert.deepEqual(countByImpact([violation("a", null), violation("b", "weird")]), {
    minor: 2,
    moderate: 0,
    serious: 0,
    critical: 0,
  });
});

test("only serious and critical violations block", () => {
  const found = [violation("a", "critical"), violation("b", "moderate"), violation("c", "serious"), violation("d", "minor")];
  assert.deepEqual(
    blocking(found).map((v) => v.id),
    ["a", "c"],
  );
});

test("formats counts worst first, naming the rules and their node counts", () => {
  assert.equal(formatCounts([]), "critical 0, serious 0, moderate 0, minor 0");
  assert.equal(
    formatCounts([violation("region", "moderate", 2), violation("label", "critical")]),
    "critical 1, serious 0, moderate 1, minor 0 (region×2, label×1)",
  );
});

test("describes violations with where they are", () => {
  const text = describeViolations([violation("color-contrast", "serious", 4)]);
  assert.match(text, /\[serious\] color-contrast: help for color-contrast \(4 nodes\)/);
  assert.match(text, /#color-contrast: Fix color-contrast/);
});
