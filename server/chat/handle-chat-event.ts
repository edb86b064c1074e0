import { z } from "zod";
import { AppError, isAppError } from "../errors";
import type { Db } from "../db/client";
import { parsePrReferences, SCAN_LIMIT } from "../intake/parse-pr-reference";
import { submitPullRequest, type IntakeDeps, type SubmissionResult } from "../intake/submit-pull-request";
import { chatText, looksAimedAtTheShow } from "./chat-text";
import { setChatEventOutcome, type ChatMessage, type ChatOutcome } from "./chat.repo";

/**
 * One Owncast chat message, from webhook or history, through the one intake path: parse every PR
 * it names and submit each as its own submission (source "owncast", the whole message as raw
 * text). The answer is one chat line for the sender, or null when the message was ordinary chat.
 */

const OwncastUser = z.object({
  id: z.string().max(200).optional(),
  displayName: z.string().max(500),
  isBot: z.boolean().optional(),
});

const ChatEventData = z.object({
  id: z.string().min(1).max(200),
  user: OwncastUser,
  body: z.string().optional(),
  rawBody: z.string().optional(),
  timestamp: z.string().optional(),
});

const Envelope = z.object({ type: z.string().max(100), eventData: z.unknown() });

export type WebhookPayload = { kind: "chat"; message: ChatMessage } | { kind: "ignored"; type: string };

/** Owncast's `{type, eventData}` envelope; only `CHAT` carries submissions. */
export function parseWebhookPayload(value: unknown): WebhookPayload {
  const envelope = Envelope.safeParse(value);
  if (!envelope.success) throw new AppError("bad_request", "Expected Owncast's webhook envelope {type, eventData}.");
  if (envelope.data.type !== "CHAT") return { kind: "ignored", type: envelope.data.type };
  const data = ChatEventData.safeParse(envelope.data.eventData);
  if (!data.success) {
    const issue = data.error.issues[0];
    throw new AppError("bad_request", `Invalid CHAT eventData.${issue?.path.join(".") ?? ""}: ${issue?.message ?? "unexpected shape"}.`);
  }
  return { kind: "chat", message: toChatMessage(data.data) };
}

/** One entry of `GET /api/integrations/chat`: CHAT entries become messages (history has no rawBody). */
export function parseHistoryEntry(value: unknown): { message: ChatMessage; sentAt: Date | null } | null {
  const entry = ChatEventData.extend({ type: z.literal("CHAT") }).safeParse(value);
  if (!entry.success) return null;
  const sentAt = entry.data.timestamp ? new Date(entry.data.timestamp) : null;
  return { message: toChatMessage(entry.data), sentAt: sentAt && !Number.isNaN(sentAt.getTime()) ? sentAt : null };
}

function toChatMessage(data: z.infer<typeof ChatEventData>): ChatMessage {
  return {
    id: data.id,
    displayName: data.user.displayName,
    userId: data.user.id ?? null,
    isBot: data.user.isBot ?? false,
    text: chatText(data),
  };
}

export interface ChatHandlerDeps {
  db: Db;
  intake: IntakeDeps;
  /** Unexpected errors (not AppErrors) are logged here; the viewer gets a short apology. */
  onUnexpectedError: (error: unknown, context: Record<string, unknown>) => void;
}

export interface ChatHandling {
  outcome: Exclude<ChatOutcome, "pending">;
  reason: string | null;
  /** The line to post in chat, addressed to the sender; null means stay quiet. */
  reply: string | null;
}

/** Handles a message already stored with `recordChatEvent`, and stores its outcome. */
export async function handleChatMessage(deps: ChatHandlerDeps, message: ChatMessage): Promise<ChatHandling> {
  const handling = await decide(deps, message);
  await setChatEventOutcome(deps.db, message.id, handling.outcome, handling.reason);
  return handling;
}

async function decide(deps: ChatHandlerDeps, message: ChatMessage): Promise<ChatHandling> {
  // Another bot (ours never comes back as a webhook, but may appear in polled history).
  if (message.isBot) return { outcome: "ignored", reason: "sent by a bot", reply: null };

  const mention = `@${message.displayName}`;
  const parsed = parsePrReferences(message.text, { repo: deps.intake.repo });
  if (!parsed.ok) {
    if (!looksAimedAtTheShow(message.text)) return { outcome: "ignored", reason: "no PR reference", reply: null };
    return { outcome: "refused", reason: parsed.reason, reply: `${mention} ${parsed.reason}` };
  }

  const parts: string[] = [];
  const refusals: string[] = [];
  for (const prNumber of parsed.numbers) {
    try {
      const result = await submitPullRequest(deps.intake, {
        source: "owncast",
        text: `#${prNumber}`,
        rawText: message.text,
        nickname: message.displayName,
        deviceToken: message.userId ? `owncast:${message.userId}` : null,
        remote: true,
      });
      parts.push(`#${prNumber} ${acceptedAs(result)}`);
    } catch (error) {
      const reason = refusalOf(deps, error, prNumber, message);
      refusals.push(reason);
      parts.push(reason);
    }
  }
  const note = parsed.truncated ? ` (only the first ${SCAN_LIMIT.toLocaleString("en-US")} characters were read)` : "";
  const accepted = refusals.length < parsed.numbers.length;
  return {
    outcome: accepted ? "processed" : "refused",
    reason: refusals.length > 0 ? refusals.join("; ") : null,
    reply: `${mention} ${parts.join(", ")}${note}`,
  };
}

function acceptedAs(result: SubmissionResult): string {
  if (result.state === "rejected") return "was turned down by the host";
  if (result.status === "duplicate") return "already queued";
  if (result.state === "pending") return "waits for the host's approval";
  return "queued";
}

/** "#999999 does not exist in NixOS/nixpkgs": the intake's sentence, led by the PR it is about. */
function refusalOf(deps: ChatHandlerDeps, error: unknown, prNumber: number, message: ChatMessage): string {
  if (!isAppError(error)) {
    deps.onUnexpectedError(error, { chatEventId: message.id, prNumber });
    return `#${prNumber}: could not be taken because of a server error; try again in a minute`;
  }
  const prefix = `PR #${prNumber} `;
  const sentence = error.message.replace(/\.$/, "");
  return sentence.startsWith(prefix) ? `#${prNumber} ${sentence.slice(prefix.length)}` : `#${prNumber}: ${sentence}`;
}
