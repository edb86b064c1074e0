/**
 * One line of the show-day preflight: what was checked, how it went, and for anything short of
 * ✅ what the person on stage should do about it. Plain data: the CLI prints it, the host console
 * renders it.
 */
export type PreflightStatus = "ok" | "warn" | "fail";

export interface PreflightCheck {
  id: string;
  label: string;
  status: PreflightStatus;
  detail: string;
  /** What to do, for a person on stage; null when there is nothing to do. */
  fix: string | null;
}

export interface PreflightReport {
  ranAt: string;
  /** The worst status of all checks. */
  status: PreflightStatus;
  checks: PreflightCheck[];
}

export interface CheckName {
  id: string;
  label: string;
}

export const STATUS_MARK: Record<PreflightStatus, string> = { ok: "✅", warn: "⚠", fail: "❌" };

const RANK: Record<PreflightStatus, number> = { ok: 0, warn: 1, fail: 2 };

export function worstStatus(statuses: PreflightStatus[]): PreflightStatus {
  return statuses.reduce<PreflightStatus>((worst, s) => (RANK[s] > RANK[worst] ? s : worst), "ok");
}

/** Builders of a check's result, so every check names itself the same way in each branch. */
export function resultOf(name: CheckName) {
  return {
    ok: (detail: string): PreflightCheck => ({ ...name, status: "ok", detail, fix: null }),
    warn: (detail: string, fix: string): PreflightCheck => ({ ...name, status: "warn", detail, fix }),
    fail: (detail: string, fix: string): PreflightCheck => ({ ...name, status: "fail", detail, fix }),
  };
}

/** The last few non-empty lines of a tool's stderr, on one line. */
export function tail(text: string, lines = 3, chars = 400): string {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(" / ")
    .slice(-chars);
}
