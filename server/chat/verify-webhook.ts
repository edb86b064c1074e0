import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * Decides whether a POST to /api/owncast/webhook really comes from our Owncast server.
 *
 * Owncast 0.3 signs each delivery: `owncast-signature: t=<unix>.s=<hex HMAC-SHA256(secret,
 * "<t>." + rawBody)>`. Older servers cannot sign, so the webhook URL may carry the same secret as
 * `?token=<secret>` instead. With OWNCAST_WEBHOOK_SECRET set, either proof is accepted: the token
 * is the secret itself, so whoever holds it could sign anyway.
 *
 * Without a secret nothing is accepted (503, naming the variable). Unauthenticated chat would let
 * anyone on the internet put PRs in the queue under any viewer's name, and webhooks are the one
 * endpoint here that must be reachable from outside the room.
 */
export const SIGNATURE_HEADER = "owncast-signature";
const MAX_SIGNATURE_AGE_SECONDS = 300;

export interface WebhookProof {
  /** OWNCAST_WEBHOOK_SECRET, or null when it is not set. */
  secret: string | null;
  rawBody: string;
  /** The `owncast-signature` header, or null. */
  signature: string | null;
  /** The `token` query parameter of the webhook URL, or null. */
  urlToken: string | null;
  nowSeconds: number;
}

export type WebhookVerdict =
  | { ok: true; by: "signature" | "token" }
  | { ok: false; status: 401 | 503; reason: string };

const SIGNATURE = /^t=(\d{1,12})\.s=([0-9a-f]{64})$/i;

export function verifyOwncastWebhook(proof: WebhookProof): WebhookVerdict {
  if (proof.secret === null) {
    return {
      ok: false,
      status: 503,
      reason:
        "Owncast webhooks are turned off: set OWNCAST_WEBHOOK_SECRET, then give Owncast the same secret " +
        "(Owncast 0.3+ signs with it) or register the webhook as /api/owncast/webhook?token=<the secret>.",
    };
  }
  if (proof.urlToken !== null && sameSecret(proof.urlToken, proof.secret)) return { ok: true, by: "token" };
  if (proof.signature === null) {
    return {
      ok: false,
      status: 401,
      reason: `The webhook has no ${SIGNATURE_HEADER} header and no valid ?token=: it is not from our Owncast server.`,
    };
  }

  const match = SIGNATURE.exec(proof.signature.trim());
  if (!match?.[1] || !match[2]) {
    return { ok: false, status: 401, reason: `The ${SIGNATURE_HEADER} header is not of the form t=<unix>.s=<hex>.` };
  }
  const expected = createHmac("sha256", proof.secret).update(`${match[1]}.${proof.rawBody}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(match[2], "hex"))) {
    return {
      ok: false,
      status: 401,
      reason: `The ${SIGNATURE_HEADER} does not match: the body was changed or Owncast uses another secret than OWNCAST_WEBHOOK_SECRET.`,
    };
  }
  // Checked after the HMAC, so the timestamp a stale replay carries is known to be the signed one.
  const age = Math.abs(proof.nowSeconds - Number(match[1]));
  if (age > MAX_SIGNATURE_AGE_SECONDS) {
    return {
      ok: false,
      status: 401,
      reason: `The webhook was signed ${Math.round(age)} s away from this server's clock (at most ${MAX_SIGNATURE_AGE_SECONDS} s): a replay, or a clock to fix.`,
    };
  }
  return { ok: true, by: "signature" };
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
function sameSecret(given: string, secret: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(given), digest(secret));
}
