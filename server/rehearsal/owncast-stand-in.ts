import { createHmac, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { readBody } from "./read-body";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for an Owncast server: it delivers `CHAT` webhooks in Owncast's envelope
 * (signed like Owncast 0.3 when a secret is set) and serves the integration API the app posts
 * to (`/api/integrations/chat/send`, `/system`, …) with Owncast's status codes and bodies.
 */
export interface OwncastChatInput {
  displayName: string;
  /** What the user typed. */
  body: string;
  isBot?: boolean;
  id?: string;
  userId?: string;
  timestamp?: Date;
  /** Deliver without `rawBody`, as older Owncast servers do. */
  omitRawBody?: boolean;
  /** Overrides the rendered HTML `body`. */
  htmlBody?: string;
}

export interface OwncastSentMessage {
  path: string;
  /** The message text the integration posted (the `body` field of its JSON). */
  body: string;
  at: number;
  authorization: string | undefined;
}

export interface OwncastStandIn {
  url: string;
  close(): Promise<void>;
  /**
   * A viewer chats: the message is added to history and delivered as a `CHAT` webhook. `status`
   * is the receiver's answer, or 0 when no webhook is configured or the receiver is unreachable.
   */
  sendChat(msg: OwncastChatInput): Promise<{ status: number; id: string }>;
  /** POSTs any body to the webhook URL, signed when a secret is set unless `headers` carries a signature. */
  postRawWebhook(body: string, headers?: Record<string, string>): Promise<{ status: number }>;
  sent: OwncastSentMessage[];
  /** What `GET /api/integrations/chat` returns: viewer messages, bot messages and system messages. */
  history: unknown[];
}

export interface OwncastStandInOptions {
  webhookUrl?: string;
  accessToken: string;
  /** Sign deliveries like Owncast 0.3: `owncast-signature: t=<unix>.s=<hex HMAC-SHA256(secret, "<t>." + rawBody)>`. */
  webhookSecret?: string;
  port?: number;
  /** The access token's display name, shown as the bot's name in chat. */
  botName?: string;
}

interface OwncastUser {
  id: string;
  displayName: string;
  displayColor: number;
  createdAt: string;
  previousNames: string[];
  isBot: boolean;
  authenticated: boolean;
}

const SHORTID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-";
const WEBHOOK_TIMEOUT_MS = 10_000;
const MAX_BODY_BYTES = 1024 * 1024;

export function shortId(): string {
  return Array.from(randomBytes(10), (byte) => SHORTID_ALPHABET[byte % SHORTID_ALPHABET.length]).join("");
}

export function signOwncastWebhook(secret: string, rawBody: string, unixSeconds = Math.floor(Date.now() / 1000)): string {
  const signature = createHmac("sha256", secret).update(`${unixSeconds}.${rawBody}`).digest("hex");
  return `t=${unixSeconds}.s=${signature}`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&#34;").replace(/'/g, "&#39;");
}

/**
 * A small version of Owncast's goldmark + bluemonday pipeline: paragraphs, links for bare
 * http(s) URLs, **strong**, *em* and `code`; everything else arrives as escaped text.
 */
export function renderChatHtml(raw: string): string {
  const inline = (text: string) =>
    escapeHtml(text)
      .replace(/`([^`]+)`/g, "<code>$1</code>")
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/\*([^*]+)\*/g, "<em>$1</em>")
      .replace(
        /\bhttps?:\/\/[^\s<]+[^\s<.,;:!?)]/g,
        (url) => `<a href="${url}" rel="nofollow noreferrer noopener" target="_blank">${url}</a>`,
      );
  return raw
    .trim()
    .split(/\n\s*\n/)
    .filter((paragraph) => paragraph.trim() !== "")
    .map((paragraph) => `<p>${inline(paragraph.trim())}</p>`)
    .join("\n");
}

export async function startOwncastStandIn(opts: OwncastStandInOptions): Promise<OwncastStandIn> {
  const sent: OwncastSentMessage[] = [];
  const history: unknown[] = [];
  const users = new Map<string, OwncastUser & { clientId: number }>();
  const bot: OwncastUser = {
    id: shortId(),
    displayName: opts.botName ?? "PR Bot",
    displayColor: 3,
    createdAt: new Date().toISOString(),
    previousNames: [],
    isBot: true,
    authenticated: false,
  };

  const userFor = (msg: OwncastChatInput) => {
    const key = msg.userId ?? `name:${msg.displayName}`;
    let user = users.get(key);
    if (!user) {
      user = {
        id: msg.userId ?? shortId(),
        displayName: msg.displayName,
        displayColor: randomInt(8),
        createdAt: new Date().toISOString(),
        previousNames: [msg.displayName],
        isBot: msg.isBot ?? false,
        authenticated: false,
        clientId: users.size + 1,
      };
      users.set(key, user);
    }
    return user;
  };

  async function deliver(rawBody: string, headers: Record<string, string> = {}): Promise<{ status: number }> {
    if (!opts.webhookUrl) return { status: 0 };
    const signature: Record<string, string> =
      opts.webhookSecret && !Object.keys(headers).some((h) => h.toLowerCase() === "owncast-signature")
        ? { "owncast-signature": signOwncastWebhook(opts.webhookSecret, rawBody) }
        : {};
    const response = await fetch(opts.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "Go-http-client/1.1", ...signature, ...headers },
      body: rawBody,
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    return { status: response.status };
  }

  async function sendChat(msg: OwncastChatInput): Promise<{ status: number; id: string }> {
    const { clientId, ...user } = userFor(msg);
    const id = msg.id ?? shortId();
    const timestamp = (msg.timestamp ?? new Date()).toISOString();
    const body = msg.htmlBody ?? renderChatHtml(msg.body);
    history.push({ type: "CHAT", id, timestamp, user, clientId, body });
    const envelope = {
      type: "CHAT",
      eventData: {
        user,
        clientId,
        body,
        ...(msg.omitRawBody ? {} : { rawBody: msg.body }),
        id,
        visible: true,
        timestamp,
      },
    };
    // Owncast keeps the message and only logs a failed delivery; status 0 means "not delivered".
    const { status } = await deliver(JSON.stringify(envelope)).catch(() => ({ status: 0 }));
    return { status, id };
  }

  function authorized(req: http.IncomingMessage): boolean {
    const match = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    if (!match?.[1]) return false;
    const given = Buffer.from(match[1]);
    const expected = Buffer.from(opts.accessToken);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://owncast.invalid");
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (!url.pathname.startsWith("/api/integrations/")) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("404 page not found\n");
      return;
    }
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "access-control-allow-origin": "*",
        "access-control-allow-headers": "Content-Type, Authorization",
        "access-control-allow-methods": "GET, POST, OPTIONS",
      });
      res.end();
      return;
    }
    if (!authorized(req)) {
      res.writeHead(401, { "content-type": "text/plain; charset=utf-8", "access-control-allow-origin": "*" });
      res.end("unauthorized");
      return;
    }

    if (req.method === "GET" && url.pathname === "/api/integrations/chat") {
      json(200, history);
      return;
    }
    const systemToClient = /^\/api\/integrations\/chat\/system\/client\/(\d+)$/.exec(url.pathname);
    const kind =
      url.pathname === "/api/integrations/chat/send"
        ? "CHAT"
        : url.pathname === "/api/integrations/chat/system" || systemToClient
          ? "SYSTEM"
          : url.pathname === "/api/integrations/chat/action"
            ? "CHAT_ACTION"
            : null;
    if (req.method === "POST" && url.pathname === "/api/integrations/chat/user") {
      json(400, { error: "no longer supported. see /api/integrations/chat/send" });
      return;
    }
    if (req.method !== "POST" || kind === null) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("404 page not found\n");
      return;
    }

    let message: unknown;
    try {
      message = JSON.parse(await readBody(req, MAX_BODY_BYTES));
    } catch (error) {
      // Owncast answers undecodable JSON through its InternalErrorHandler.
      json(500, { error: error instanceof Error ? error.message : "invalid JSON" });
      return;
    }
    const text =
      typeof message === "object" && message !== null && typeof (message as { body?: unknown }).body === "string"
        ? (message as { body: string }).body
        : "";
    const html = renderChatHtml(text);
    if (html === "") {
      json(400, { error: "invalid message" });
      return;
    }
    sent.push({ path: url.pathname, body: text, at: Date.now(), authorization: req.headers.authorization });
    // Messages for one connection are not part of the public history.
    if (!systemToClient) {
      const event = { type: kind, id: shortId(), timestamp: new Date().toISOString(), body: html };
      history.push(kind === "CHAT" ? { ...event, user: bot } : event);
    }
    json(200, { success: true, message: "sent" });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    sent,
    history,
    sendChat,
    postRawWebhook: (body, headers) => deliver(body, headers),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

