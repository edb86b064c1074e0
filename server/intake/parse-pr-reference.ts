/**
 * One parser for every audience source (phone form, web, Owncast chat). It turns what a person
 * typed into nixpkgs PR numbers, or into one sentence telling them what to send instead.
 *
 * Decisions (the tests pin each one):
 * - Only ASCII 0-9 count as digits. Text is never NFKC-normalised: that would turn fullwidth
 *   `４２７` into `427`, and a number the projector shows must be the number the person typed.
 * - Leading zeros (`007`, `#007`) are refused with a "did you mean #7?" hint: GitHub never writes
 *   them, and they are more often a slip than a PR.
 * - At most 8 digits and at most `maxPrNumber`, checked on the string before `Number()`, so
 *   `1e5`, `0x10`, `1_000` and 30-digit inputs never reach number conversion.
 * - HTML is refused, not stripped: the Owncast layer parses `rawBody` (plain text) or strips tags
 *   itself, so a tag reaching this function means something upstream went wrong.
 * - Right-to-left and other bidi controls anywhere refuse the whole message (they change what the
 *   screen shows); zero-width characters inside a reference refuse it (`4‍27048`), while
 *   zero-width joiners in emoji elsewhere in a chat message are harmless prose.
 * - Chat: bare numbers count only when the whole message is numbers (`427048`, `1 2`), after a
 *   `pr`/`!pr` keyword, or in `#N`/URL/`repo#N` form, so "I have 3 cats" is not PR 3. One bad
 *   reference refuses the whole message, so the sender fixes it instead of half of it going in.
 * - Work is bounded: only the first 2,000 characters are read (a chat result then carries
 *   `truncated: true`; a form field that long is refused). Regexes are anchored and have no
 *   nested quantifiers.
 */

export interface PrReferenceOptions {
  /** "owner/name" of the repository the show takes, e.g. "NixOS/nixpkgs". */
  repo: string;
  /** Highest PR number accepted; default 10,000,000. */
  maxPrNumber?: number;
  /** Most distinct PRs one chat message may carry; default 5. */
  maxPerMessage?: number;
}

export type PrReferenceResult =
  | { ok: true; numbers: number[]; /** only the first 2,000 characters were read */ truncated?: boolean }
  | { ok: false; reason: string };

export const SCAN_LIMIT = 2_000;
const MAX_DIGITS = 8;
const DEFAULT_MAX_PR_NUMBER = 10_000_000;
const DEFAULT_MAX_PER_MESSAGE = 5;
const EXAMPLE = "send something like 427048 or #427048";

const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const HTML_TAG = /<\/?[a-z][a-z0-9-]*(?:[\s/>]|$)|<!/i;
const FORMAT_CHARS = /\p{Cf}/gu;
const TOKEN_SEPARATORS = /[\s()[\]<>]+/u;
const LEADING_PUNCTUATION = /^["'“”‘’*_~`]+/u;
const TRAILING_PUNCTUATION = /["'“”‘’*_~`.,;:!?]+$/u;
const KEYWORD = /^!?pr$/i;
const NUMERIC_LOOKING = /^[+-]?[\p{Nd}\p{No}]/u;
const GITHUB_URL_PREFIX = /^(?:https?:\/\/)?(?:www\.)?github\.com\//i;
const REPO_PREFIX = /^(?:([A-Za-z0-9_.-]+)\/)?([A-Za-z0-9_.-]+)$/;

type Token =
  | { kind: "ref"; number: number }
  | { kind: "bad"; reason: string }
  | { kind: "keyword"; text: string; command: boolean }
  | { kind: "numeric"; text: string }
  | { kind: "prose"; text: string };

type Mode = "chat" | "field";

interface Settings {
  owner: string;
  name: string;
  repo: string;
  maxPrNumber: number;
  maxPerMessage: number;
}

/** A chat message: any number of references (deduplicated, in order), at most `maxPerMessage`. */
export function parsePrReferences(text: string, opts: PrReferenceOptions): PrReferenceResult {
  const settings = settingsFrom(opts);
  const trimmed = text.trim();
  if (trimmed === "") return refuse(`the message is empty: ${EXAMPLE}`);

  const truncated = trimmed.length > SCAN_LIMIT;
  const scanned = truncated ? cutAtWordBoundary(trimmed, SCAN_LIMIT) : trimmed;
  const unreadable = refuseUnreadable(scanned);
  if (unreadable) return unreadable;

  const scan = scanTokens(tokenize(scanned, settings), "chat", settings);
  if (!scan.ok) return scan;
  const numbers = dedupe(scan.numbers);
  const readNote = truncated ? ` (only the first ${SCAN_LIMIT.toLocaleString("en-US")} characters were read)` : "";

  if (numbers.length === 0) {
    const loose = scan.looseNumbers[0];
    if (loose !== undefined) {
      return refuse(
        `numbers inside a sentence don't count: write #${loose} or !pr ${loose} to send PR ${loose}${readNote}`,
      );
    }
    return refuse(`no PR reference found: ${EXAMPLE} or a pull-request link${readNote}`);
  }
  if (numbers.length > settings.maxPerMessage) {
    return refuse(
      `at most ${settings.maxPerMessage} PRs per message (this one has ${numbers.length}): send the rest in another message`,
    );
  }
  return truncated ? { ok: true, numbers, truncated: true } : { ok: true, numbers };
}

/** A form field: exactly one reference, nothing else. */
export function parsePrReference(text: string, opts: PrReferenceOptions): PrReferenceResult {
  const settings = settingsFrom(opts);
  const trimmed = text.trim();
  if (trimmed === "") return refuse(`the field is empty: ${EXAMPLE}`);
  if (trimmed.length > SCAN_LIMIT) {
    return refuse(
      `that is ${trimmed.length.toLocaleString("en-US")} characters, far too long for a PR reference: ${EXAMPLE}`,
    );
  }
  const unreadable = refuseUnreadable(trimmed);
  if (unreadable) return unreadable;

  const scan = scanTokens(tokenize(trimmed, settings), "field", settings);
  if (!scan.ok) return scan;
  const extra = scan.prose[0];
  if (extra !== undefined) {
    return refuse(`${quote(extra)} is not a PR number: ${EXAMPLE}`);
  }
  const numbers = dedupe(scan.numbers);
  if (numbers.length === 0) return refuse(`no PR number found: ${EXAMPLE}`);
  if (numbers.length > 1) {
    return refuse(`one PR at a time (found ${numbers.map((n) => `#${n}`).join(", ")}): send them separately`);
  }
  return { ok: true, numbers };
}

function settingsFrom(opts: PrReferenceOptions): Settings {
  const [owner = "", name = ""] = opts.repo.split("/");
  return {
    owner: owner.toLowerCase(),
    name: name.toLowerCase(),
    repo: opts.repo,
    maxPrNumber: opts.maxPrNumber ?? DEFAULT_MAX_PR_NUMBER,
    maxPerMessage: opts.maxPerMessage ?? DEFAULT_MAX_PER_MESSAGE,
  };
}

function refuse(reason: string): PrReferenceResult {
  return { ok: false, reason };
}

/** Cuts at the last whitespace before `limit`, so a number is never read half-way (`#12|34`). */
function cutAtWordBoundary(text: string, limit: number): string {
  if (/\s/u.test(text.charAt(limit))) return text.slice(0, limit);
  const head = text.slice(0, limit);
  const lastSpace = Math.max(head.lastIndexOf(" "), head.lastIndexOf("\n"), head.lastIndexOf("\t"));
  return lastSpace > 0 ? head.slice(0, lastSpace) : "";
}

function refuseUnreadable(text: string): PrReferenceResult | null {
  if (BIDI_CONTROL.test(text)) {
    return refuse(`the text contains right-to-left control characters that change how it is shown: type it again as plain text`);
  }
  if (HTML_TAG.test(text)) return refuse(`HTML is not read here: ${EXAMPLE} as plain text`);
  return null;
}

function tokenize(text: string, settings: Settings): Token[] {
  const tokens: Token[] = [];
  for (const raw of text.split(TOKEN_SEPARATORS)) {
    const core = raw.replace(LEADING_PUNCTUATION, "").replace(TRAILING_PUNCTUATION, "");
    if (core !== "") tokens.push(classify(core, settings));
  }
  return tokens;
}

function classify(core: string, settings: Settings): Token {
  const visible = core.replace(FORMAT_CHARS, "");
  if (visible === core) return classifyVisible(core, settings);
  const token = classifyVisible(visible, settings);
  if (token.kind === "prose" || token.kind === "keyword") return { kind: "prose", text: visible };
  return bad(`${quote(visible)} contains invisible characters (such as zero-width joiners): type the number again`);
}

function classifyVisible(core: string, settings: Settings): Token {
  if (GITHUB_URL_PREFIX.test(core)) return classifyGithubUrl(core, settings);
  const hash = core.indexOf("#");
  if (hash >= 0) return classifyHashReference(core, hash, settings);
  if (KEYWORD.test(core)) return { kind: "keyword", text: core, command: core.startsWith("!") };
  if (NUMERIC_LOOKING.test(core)) return { kind: "numeric", text: core };
  return { kind: "prose", text: core };
}

function classifyGithubUrl(url: string, settings: Settings): Token {
  const path = url.replace(GITHUB_URL_PREFIX, "").split(/[?#]/u, 1)[0] ?? "";
  const [owner = "", name = "", kind = "", number = ""] = path.split("/");
  if (kind !== "pull") return { kind: "prose", text: url };
  if (owner.toLowerCase() !== settings.owner || name.toLowerCase() !== settings.name) {
    return otherRepository(`${owner}/${name}`, settings);
  }
  if (number === "") return bad(`${quote(url)} has no PR number: ${EXAMPLE}`);
  return numberToken(number, settings);
}

function classifyHashReference(core: string, hash: number, settings: Settings): Token {
  const prefix = core.slice(0, hash);
  const rest = core.slice(hash + 1);
  // `#nixos`, `C#` and flake references such as `nixpkgs#hello` are chat, not PR references.
  if (!NUMERIC_LOOKING.test(rest)) return { kind: "prose", text: core };
  if (prefix === "" || KEYWORD.test(prefix)) return numberToken(rest, settings);
  const match = REPO_PREFIX.exec(prefix);
  if (!match) return { kind: "prose", text: core };
  const [, owner, name = ""] = match;
  const sameOwner = owner === undefined || owner.toLowerCase() === settings.owner;
  if (!sameOwner || name.toLowerCase() !== settings.name) return otherRepository(prefix, settings);
  return numberToken(rest, settings);
}

function otherRepository(repo: string, settings: Settings): Token {
  return bad(`${quote(repo)} is another repository: only ${settings.repo} pull requests are played here`);
}

function bad(reason: string): Token {
  return { kind: "bad", reason };
}

function numberToken(digits: string, settings: Settings): Token {
  const checked = checkDigits(digits, settings);
  return checked.ok ? { kind: "ref", number: checked.number } : bad(checked.reason);
}

type DigitCheck = { ok: true; number: number } | { ok: false; reason: string };

function checkDigits(text: string, settings: Settings): DigitCheck {
  const shown = quote(text);
  const no = (why: string): DigitCheck => ({ ok: false, reason: `${shown} ${why}` });
  if (/\p{Cf}/u.test(text)) return no("contains invisible characters (such as zero-width joiners): type the number again");
  if (text.startsWith("-")) return no(`is negative: PR numbers start at 1, ${EXAMPLE}`);
  if (text.startsWith("+")) return no(`starts with “+”: send just the digits, like 427048 or #427048`);
  if (!/^[0-9]+$/.test(text)) {
    if (/[\p{Nd}\p{No}]/u.test(text.replace(/[0-9]/g, ""))) {
      return no(`uses digits other than 0-9: type the number with plain digits 0-9`);
    }
    if (/^[0-9]+[.,][0-9]+$/.test(text)) {
      return no(`is not a whole number without separators: ${EXAMPLE} (separate several PRs with spaces)`);
    }
    if (/^[0-9]+(?:\.[0-9]+)?e[+-]?[0-9]+$/i.test(text)) {
      return no(`is written with an exponent: type every digit, like 427048`);
    }
    return no(`is not a PR number: ${EXAMPLE}`);
  }
  if (/^0+$/.test(text)) return no(`is not a PR number: PR numbers start at 1`);
  if (text.length > MAX_DIGITS) return no(`has too many digits for a PR number (at most ${MAX_DIGITS} digits): ${EXAMPLE}`);
  if (text.startsWith("0")) {
    const withoutZeros = text.replace(/^0+/, "");
    return no(`starts with 0, and PR numbers never do: did you mean #${withoutZeros}?`);
  }
  const number = Number(text);
  if (number > settings.maxPrNumber) {
    return no(`is above the highest PR number taken here (${settings.maxPrNumber.toLocaleString("en-US")})`);
  }
  return { ok: true, number };
}

type Scan = { ok: true; numbers: number[]; prose: string[]; looseNumbers: string[] } | { ok: false; reason: string };

function scanTokens(tokens: Token[], mode: Mode, settings: Settings): Scan {
  // In a form field every number counts; in chat a bare number counts only when the message is
  // nothing but numbers, so prose like "I have 3 cats" stays prose.
  const numbersCount = mode === "field" || tokens.every((t) => t.kind === "numeric");
  const numbers: number[] = [];
  const prose: string[] = [];
  const looseNumbers: string[] = [];

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    switch (token.kind) {
      case "ref":
        numbers.push(token.number);
        break;
      case "bad":
        return { ok: false, reason: token.reason };
      case "numeric":
        if (numbersCount) {
          const checked = checkDigits(token.text, settings);
          if (!checked.ok) return checked;
          numbers.push(checked.number);
        } else if (checkDigits(token.text, settings).ok) {
          looseNumbers.push(token.text);
        }
        break;
      case "prose":
        prose.push(token.text);
        break;
      case "keyword": {
        let next = i + 1;
        for (; next < tokens.length; next++) {
          const argument = tokens[next]!;
          if (argument.kind === "ref") {
            numbers.push(argument.number);
          } else if (argument.kind === "numeric") {
            const checked = checkDigits(argument.text, settings);
            if (!checked.ok) return checked;
            numbers.push(checked.number);
          } else if (argument.kind === "bad") {
            return { ok: false, reason: argument.reason };
          } else {
            break;
          }
        }
        if (next === i + 1 && (token.command || mode === "field")) {
          const argument = tokens[next];
          if (argument === undefined) {
            return { ok: false, reason: `${quote(token.text)} needs a PR number, like ${token.text} 427048` };
          }
          if (argument.kind === "prose" || argument.kind === "keyword") {
            return { ok: false, reason: `${quote(argument.text)} is not a PR number: ${EXAMPLE}` };
          }
        }
        i = next - 1;
        break;
      }
    }
  }
  return { ok: true, numbers, prose, looseNumbers };
}

function dedupe(numbers: number[]): number[] {
  return [...new Set(numbers)];
}

/** Quotes user text for a reason: control and format characters removed, at most 40 characters. */
function quote(text: string): string {
  const clean = text.replace(/\p{C}/gu, "");
  const chars = Array.from(clean);
  return `“${chars.length > 40 ? `${chars.slice(0, 40).join("")}…` : clean}”`;
}
