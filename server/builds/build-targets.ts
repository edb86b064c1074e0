import type { TargetView } from "../show/views";

/**
 * What the build engine knows about each attribute beyond the TargetView every screen reads:
 * which derivation it is and whether it can be built at all. Stored with the build's targets
 * (the screens' views carry attr and source only), so a report can be written from the database
 * long after the build.
 */

/** "ok": evaluates to a derivation; "non-existent": no such attribute (or not a derivation); "broken": evaluating it throws (meta.broken, unsupported platform, …). */
export type TargetCheck = "ok" | "non-existent" | "broken";

/** Attributes added because the host asked for passthru.tests; nixpkgs-review lists them as tests. */
export const PASSTHRU_TESTS_SOURCE = "passthru-tests";

export interface BuildTarget extends TargetView {
  /** Null when it was not evaluated (or does not evaluate to a derivation). */
  drvPath: string | null;
  /** Null when the attributes were not evaluated before the build. */
  check: TargetCheck | null;
}

/** The build engine's view of a target, whether or not it was stored with these fields. */
export function asBuildTarget(target: TargetView): BuildTarget {
  const t = target as Partial<BuildTarget> & TargetView;
  const check = t.check === "ok" || t.check === "non-existent" || t.check === "broken" ? t.check : null;
  return { attr: t.attr, source: t.source, drvPath: typeof t.drvPath === "string" ? t.drvPath : null, check };
}
