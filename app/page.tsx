import { PhoneApp } from "@/components/phone-app";

export default function AudiencePage() {
  return <PhoneApp />;
}
