import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "@/server/config";
import { startShow, type RunningShow } from "@/server/index";
import { startRehearsalKit, type RehearsalKit } from "@/server/rehearsal/rehearsal-kit";
import { freshDatabase, type Provider, type TestDatabase } from "./databases";

export const HOST_PASSWORD = "rehearsal-host-password";

export interface ShowHarness {
  show: RunningShow;
  kit: RehearsalKit;
  database: TestDatabase;
  /**
   * A server restart: stops the show (as SIGTERM does) and starts a new one on the same
   * database, var dir, rehearsal nixpkgs and GitHub stand-in. `show` is the new one afterwards.
   */
  restart(): Promise<RunningShow>;
  close(): Promise<void>;
}

/** A running show wired to a fresh mini-nixpkgs, the GitHub stand-in and a fresh database. */
export async function startHarness(opts: {
  web?: boolean;
  provider?: Provider;
  chattyLines?: number;
  chattySeconds?: number;
  env?: Record<string, string>;
} = {}): Promise<ShowHarness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "mafhf-show-"));
  const system = loadConfig({}, {}).nixSystems[0]!;
  const kit = await startRehearsalKit({ dir, system, size: 5, chattyLines: opts.chattyLines, chattySeconds: opts.chattySeconds });
  const database = await freshDatabase(opts.provider ?? "sqlite");
  const config = loadConfig(
    {
      ...kit.env,
      NODE_ENV: "production",
      PORT: "0",
      BIND_HOST: "127.0.0.1",
      DATABASE_URL: database.url,
      VAR_DIR: path.join(dir, "var"),
      HOST_PASSWORD: HOST_PASSWORD,
      BUILD_TIMEOUT_SECONDS: "300",
      ...opts.env,
    },
    {},
  );
  const harness: ShowHarness = {
    show: await startShow({ config, web: opts.web ?? false }),
    kit,
    database,
    restart: async () => {
      await harness.show.close();
      harness.show = await startShow({ config, web: opts.web ?? false });
      return harness.show;
    },
    close: async () => {
      await harness.show.close();
      await kit.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
