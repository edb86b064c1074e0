/**
 * What a viewer typed, recovered from an Owncast chat event. `rawBody` is the text as typed, but
 * older servers omit it or fill it with the rendered HTML (the same as `body`), and chat history
 * entries never have it. Then the sanitized HTML `body` is turned back into text: tags removed,
 * entities decoded once, in that order, so an escaped `&lt;b&gt;` a viewer typed stays text.
 */
const HTML_TAG = /<\/?[a-z][a-z0-9-]*(?:[\s/>]|$)|<!/i;
const BLOCK_END = /<\/(?:p|div|li|h[1-6]|blockquote|pre)>|<br\s*\/?>/gi;
const ANY_TAG = /<[^>]*>/g;
const ENTITY = /&(?:#(\d{1,7})|#x([0-9a-f]{1,6})|([a-z]+));/gi;
const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

export function chatText(eventData: { rawBody?: string | null; body?: string | null }): string {
  const raw = eventData.rawBody;
  if (typeof raw === "string" && raw.trim() !== "" && !HTML_TAG.test(raw)) return raw;
  return htmlToText(eventData.body ?? raw ?? "");
}

export function htmlToText(html: string): string {
  return decodeEntities(html.replace(BLOCK_END, "\n").replace(ANY_TAG, ""))
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{2,}/g, "\n")
    .trim();
}

function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, decimal: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (name !== undefined) return NAMED_ENTITIES[name.toLowerCase()] ?? whole;
    const code = decimal !== undefined ? Number(decimal) : parseInt(hex ?? "", 16);
    return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
  });
}

/**
 * Whether a message that the PR parser refused was aimed at the show, and so deserves an answer
 * with the reason. Ordinary chat ("I have 3 cats", "nixpkgs#hello", "C# rocks") gets no reply:
 * a bot that corrects every number in a live chat is noise.
 */
const AIMED_AT_THE_SHOW = [
  /(?:^|\s)!pr(?:\s|$)/iu, // the command, with or without a number
  /(?:^|[\s(])pr\s*#?[+-]?[\p{Nd}\p{No}]/iu, // "pr 427048", "PR #427048"
  /#[+-]?[\p{Nd}\p{No}]/u, // "#427048", "nixpkgs#007"
  /github\.com\/[^\s/]+\/[^\s/]+\/pull\b/iu, // a pull-request link
  /^[\s\p{Nd}\p{No}+\-.,_]*[\p{Nd}\p{No}][\s\p{Nd}\p{No}+\-.,_]*$/u, // nothing but numbers
  /(?:^|[^\p{L}\p{N}])\p{Nd}{5,}(?![\p{L}\p{N}])/u, // a standalone number as long as nixpkgs PRs are
];

export function looksAimedAtTheShow(text: string): boolean {
  return AIMED_AT_THE_SHOW.some((pattern) => pattern.test(text));
}
