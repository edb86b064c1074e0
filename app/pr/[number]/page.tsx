import { notFound } from "next/navigation";
import { PrDetail } from "@/components/pr-detail";

export default async function PrPage({ params }: { params: Promise<{ number: string }> }) {
  const { number } = await params;
  if (!/^[1-9][0-9]{0,7}$/.test(number)) notFound();
  return <PrDetail prNumber={Number(number)} />;
}
