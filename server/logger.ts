import pino from "pino";

/** Structured logs for the operator; stack traces go here, never to a screen. */
export function createLogger(bindings: Record<string, unknown> = {}) {
  return pino({ level: "info", base: { app: "mafhf", ...bindings } });
}
