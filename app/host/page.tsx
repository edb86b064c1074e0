import { HostConsole } from "@/components/host-console";

export default function HostPage() {
  return <HostConsole />;
}
