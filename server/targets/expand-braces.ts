/**
 * Bash-style brace expansion for package names in commit titles, as ofborg read them:
 * `python3{12,13}Packages.x` → 2 names, `firefox{,-beta}{,-bin}` → 4, groups may nest.
 *
 * Like bash, a brace without a matching close or without a top-level comma (`{foo}`, `{1..3}`)
 * stays literal, and duplicates are kept. Unlike bash, the work is bounded: at most `limit`
 * results (the first ones in bash order), and patterns longer than 1,000 characters are returned
 * unexpanded.
 */
export const DEFAULT_EXPANSION_LIMIT = 100;
const MAX_PATTERN_LENGTH = 1_000;

export function expandBraces(pattern: string, limit: number = DEFAULT_EXPANSION_LIMIT): string[] {
  const cap = Number.isFinite(limit) ? Math.max(1, Math.floor(limit)) : DEFAULT_EXPANSION_LIMIT;
  if (pattern.length > MAX_PATTERN_LENGTH) return [pattern];
  return expand(pattern, cap);
}

function expand(pattern: string, limit: number): string[] {
  let results = [""];
  let literalStart = 0;
  let i = 0;
  while (i < pattern.length) {
    const group = pattern[i] === "{" ? findGroup(pattern, i) : null;
    if (group === null) {
      i++;
      continue;
    }
    const literal = pattern.slice(literalStart, i);
    const alternatives: string[] = [];
    let altStart = i + 1;
    for (const end of [...group.commas, group.close]) {
      for (const expanded of expand(pattern.slice(altStart, end), limit)) {
        if (alternatives.length >= limit) break;
        alternatives.push(expanded);
      }
      altStart = end + 1;
    }
    results = product(results, literal, alternatives, limit);
    i = group.close + 1;
    literalStart = i;
  }
  const tail = pattern.slice(literalStart);
  return results.map((prefix) => prefix + tail);
}

/** The matching `}` of the `{` at `open` and the commas at its own depth, or null if it is literal. */
function findGroup(pattern: string, open: number): { close: number; commas: number[] } | null {
  const commas: number[] = [];
  let depth = 0;
  for (let j = open; j < pattern.length; j++) {
    const c = pattern[j];
    if (c === "{") {
      depth++;
    } else if (c === "}") {
      depth--;
      if (depth === 0) return commas.length > 0 ? { close: j, commas } : null;
    } else if (c === "," && depth === 1) {
      commas.push(j);
    }
  }
  return null;
}

function product(prefixes: string[], literal: string, alternatives: string[], limit: number): string[] {
  const out: string[] = [];
  for (const prefix of prefixes) {
    for (const alternative of alternatives) {
      if (out.length >= limit) return out;
      out.push(prefix + literal + alternative);
    }
  }
  return out;
}
