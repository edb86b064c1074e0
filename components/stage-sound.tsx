"use client";

import { useCallback, useMemo, useRef, useState } from "react";
import type { MomentKind } from "./big-moment";

// Notes in Hz and their lengths in seconds: a rising chime, a sad trombone, a fanfare.
const TUNES: Record<MomentKind, Array<[number, number]>> = {
  pass: [[523, 0.12], [659, 0.12], [784, 0.25]],
  fail: [[392, 0.3], [370, 0.3], [349, 0.3], [330, 0.7]],
  merge: [[523, 0.1], [523, 0.1], [523, 0.1], [698, 0.5]],
};

export interface StageSound {
  enabled: boolean;
  enable(): void;
  play(kind: MomentKind): void;
}

/**
 * Sound is generated (no files to fetch) and only after a click on the stage, as browsers'
 * autoplay rules require; the host's mute silences it.
 */
export function useStageSound(muted: boolean): StageSound {
  const ctx = useRef<AudioContext | null>(null);
  const [enabled, setEnabled] = useState(false);
  const enable = useCallback(() => {
    ctx.current ??= new AudioContext();
    void ctx.current.resume();
    setEnabled(true);
  }, []);
  const play = useCallback(
    (kind: MomentKind) => {
      const audio = ctx.current;
      if (!audio || muted || !enabled) return;
      let t = audio.currentTime;
      for (const [freq, length] of TUNES[kind]) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = kind === "fail" ? "sawtooth" : "triangle";
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.2, t);
        gain.gain.exponentialRampToValueAtTime(0.001, t + length);
        osc.connect(gain).connect(audio.destination);
        osc.start(t);
        osc.stop(t + length);
        t += length;
      }
    },
    [muted, enabled],
  );
  return useMemo(() => ({ enabled, enable, play }), [enabled, enable, play]);
}

export function SoundToggle({ sound, muted }: { sound: StageSound; muted: boolean }) {
  if (muted) return <p className="fixed bottom-4 right-6 text-xl text-slate-500">♪ sound muted by the host</p>;
  if (sound.enabled) return null;
  return (
    <button type="button" onClick={sound.enable} className="fixed bottom-4 right-6 rounded-full bg-slate-800 px-5 py-2 text-xl text-slate-200 ring-1 ring-slate-600">
      ♪ Click to enable sound
    </button>
  );
}
