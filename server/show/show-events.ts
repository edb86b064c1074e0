import { EventEmitter } from "node:events";
import type { BuildView, LeaderView, LogLine, QueueItemView, ShowStatus } from "./views";
import type { MergeView } from "../merge/views";

/**
 * Domain events. Services emit them; server/realtime subscribes and broadcasts. Nothing here knows
 * about Socket.IO.
 */
export interface ShowEventMap {
  "queue-changed": [QueueItemView[]];
  "build-updated": [BuildView];
  "build-log": [{ buildId: number; line: LogLine }];
  "settings-changed": [ShowStatus];
  "scores-changed": [LeaderView[]];
  "merge-updated": [MergeView];
  /** The show was reset: every screen reloads its snapshot. */
  "show-reset": [];
}

export type ShowEventHandlers = { [K in keyof ShowEventMap]?: (...args: ShowEventMap[K]) => void };

export class ShowEvents extends EventEmitter<ShowEventMap> {
  constructor() {
    super();
    // Every socket room and test may listen; the default of 10 is a warning, not a limit we want.
    this.setMaxListeners(100);
  }

  /** Listens to several events at once; the returned function removes exactly those listeners. */
  subscribe(handlers: ShowEventHandlers): () => void {
    const entries = Object.entries(handlers) as Array<[keyof ShowEventMap, (...args: never[]) => void]>;
    for (const [event, handler] of entries) this.on(event, handler as never);
    return () => {
      for (const [event, handler] of entries) this.off(event, handler as never);
    };
  }
}
