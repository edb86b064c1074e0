import { JoinRedirect } from "@/components/join-redirect";

/** Where the stage's QR code leads: remember the room code, then go to the audience page. */
export default async function JoinPage({ params }: { params: Promise<{ code: string }> }) {
  const { code } = await params;
  return <JoinRedirect code={code.toUpperCase().replace(/[^A-Z]/g, "").slice(0, 8)} />;
}
