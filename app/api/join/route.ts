import QRCode from "qrcode";
import { appContext } from "@/server/context";
import { handle, json } from "@/server/http/edge";
import { audienceBaseUrl } from "@/server/show/join-url";

export const dynamic = "force-dynamic";

/** What the projector shows for joining: the room code, the join URL and its QR code (SVG). */
export function GET(req: Request) {
  return handle(async () => {
    const { settings, config } = appContext();
    const { roomCode } = await settings.get();
    const base = audienceBaseUrl(config.publicUrl, req.headers.get("host"));
    const joinUrl = `${base}/j/${roomCode}`;
    const qrSvg = await QRCode.toString(joinUrl, { type: "svg", margin: 1, errorCorrectionLevel: "M", color: { dark: "#020617", light: "#ffffff" } });
    return json({ roomCode, joinUrl, displayUrl: base.replace(/^https?:\/\//, ""), qrSvg });
  });
}
