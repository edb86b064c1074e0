import { timingSafeEqual } from "node:crypto";
import { StageBoard } from "@/components/stage-board";
import { appContext } from "@/server/context";

export const dynamic = "force-dynamic";

function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The projector, or with ?overlay=1&token=… the transparent OBS overlay. */
export default async function StagePage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  if (params.overlay !== "1") return <StageBoard />;
  const token = typeof params.token === "string" ? params.token : "";
  if (!tokenMatches(token, appContext().config.overlayToken)) {
    return <p className="p-10 text-3xl text-rose-300">This overlay link has a wrong or missing token; copy it again from the server's start output.</p>;
  }
  return (
    <>
      <style>{"html, body { background: transparent !important; }"}</style>
      <StageBoard overlay />
    </>
  );
}
