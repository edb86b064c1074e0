"use client";

import { useEffect } from "react";

export function JoinRedirect({ code }: { code: string }) {
  useEffect(() => {
    localStorage.setItem("mafhf.room", code);
    localStorage.setItem("mafhf.via", "qr");
    window.location.replace("/");
  }, [code]);
  return <p className="p-8 text-center text-xl text-slate-300">Joining room {code}…</p>;
}
