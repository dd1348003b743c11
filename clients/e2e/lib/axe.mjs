/**
 * Accessibility audits with axe-core (pinned in package.json). The engine's
 * source is evaluated in the page through the DevTools protocol rather than
 * added as a <script>: the app is audited under its real Content-Security-
 * Policy (`script-src 'self'`), which a script tag would need bypassing.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** Impacts that fail a page: people relying on assistive technology cannot use it. */
export const BLOCKING_IMPACTS = Object.freeze(["serious", "critical"]);
/** Every impact axe reports, mildest first. */
export const IMPACTS = Object.freeze(["minor", "moderate", "serious", "critical"]);

/** WCAG 2.x A and AA rules plus axe's best practices (landmarks, headings, regions). */
const RUN_OPTIONS = {
  runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
  // Full details for violations only; passes and incomplete come back with one node each.
  resultTypes: ["violations"],
};

let source = null;

function axeSource() {
  if (source === null) {
    const require = createRequire(import.meta.url);
    source = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  }
  return source;
}

/**
 * Runs axe on the page as it is now. Returns its violations, each with the
 * CSS targets and a short failure summary of up to five nodes, and how many
 * rules passed and how many need a person's review (`incomplete`, e.g.
 * contrast over video): a clean page should still have run many rules.
 */
export async function audit(page) {
  const loaded = await page.evaluate(() => typeof (/** @type {any} */ (window).axe?.run) === "function");
  if (!loaded) await page.evaluate(axeSource());
  return page.evaluate(async (options) => {
    const axe = /** @type {any} */ (window).axe;
    const results = await axe.run(document, options);
    const violations = results.violations.map((/** @type {any} */ v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      nodes: v.nodes.length,
      examples: v.nodes.slice(0, 5).map((/** @type {any} */ n) => ({
        target: n.target.join(" "),
        summary: (n.failureSummary ?? "").split("\n").slice(0, 3).join(" "),
      })),
    }));
    return { violations, passed: results.passes.length, incomplete: results.incomplete.map((/** @type {any} */ v) => v.id) };
  }, RUN_OPTIONS);
}

/** Violated rules per impact (a rule counts once however many nodes break it), every impact present. */
export function countByImpact(violations) {
  /** @type {Record<string, number>} */
  const counts = Object.fromEntries(IMPACTS.map((i) => [i, 0]));
  for (const v of violations) {
    const impact = v.impact && IMPACTS.includes(v.impact) ? v.impact : "minor";
    counts[impact] = (counts[impact] ?? 0) + 1;
  }
  return counts;
}

/** The violations that fail a page. */
export function blocking(violations) {
  return violations.filter((v) => BLOCKING_IMPACTS.includes(v.impact));
}

/** One line: `critical 0, serious 0, moderate 1, minor 0 (region×2)`. */
export function formatCounts(violations) {
  const counts = countByImpact(violations);
  const byImpact = [...IMPACTS].reverse().map((i) => `${i} ${counts[i]}`).join(", ");
  const rules = violations.map((v) => `${v.id}×${v.nodes}`).join(", ");
  return rules ? `${byImpact} (${rules})` : byImpact;
}

/** A multi-line report of violations for a failure message. */
export function describeViolations(violations) {
  return violations
    .map((v) => {
      const where = v.examples.map((e) => `    ${e.target}: ${e.summary}`).join("\n");
      return `  [${v.impact}] ${v.id}: ${v.help} (${v.nodes} nodes)\n${where}`;
    })
    .join("\n");
}
