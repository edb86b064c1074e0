import { StageBoard } from "@/components/stage-board";

export default function StagePage() {
  return <StageBoard />;
}
