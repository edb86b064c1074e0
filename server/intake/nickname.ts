const ADJECTIVES = ["Lazy", "Pure", "Reproducible", "Hermetic", "Flaky", "Pinned", "Garbage", "Sandboxed", "Cached", "Impure"];
const NOUNS = ["Derivation", "Closure", "Flake", "Overlay", "Channel", "Hydra", "Builder", "Store", "Thunk", "Module"];

// Control characters, zero-width characters and bidi overrides: they make names that look like
// other names or scramble the projector.
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
export const MAX_NICKNAME_LENGTH = 24;

export function generateNickname(random: () => number = Math.random): string {
  const pick = (list: string[]) => list[Math.floor(random() * list.length)]!;
  return `${pick(ADJECTIVES)}${pick(NOUNS)}${Math.floor(random() * 90) + 10}`;
}

export function cleanNickname(raw: string | null | undefined): string {
  const cleaned = [...(raw ?? "").normalize("NFC").replace(INVISIBLE, "").replace(/\s+/g, " ").trim()]
    .slice(0, MAX_NICKNAME_LENGTH)
    .join("")
    .trim();
  return cleaned || generateNickname();
}
