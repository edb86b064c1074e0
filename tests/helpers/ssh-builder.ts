import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";

/**
 * Remote builders for tests: a private sshd on 127.0.0.1 that lets Nix reach this machine over
 * `ssh-ng://`, as it reaches a real builder.
 *
 * Each builder gets a store of its own (`?remote-store=<dir>`, a chroot store below the temp
 * dir). It cannot share this machine's /nix/store: nix locks a derivation's outputs before it
 * hands the build to a builder, and the builder's daemon would wait for those same locks
 * forever. Nix builds in a chroot store only inside its sandbox, which needs root here; the
 * builders' own nix.conf (sshd hands it to their daemons through NIX_USER_CONF_FILES) binds the
 * host's /bin, /usr and /lib into it, so test derivations whose builder is /bin/sh run there.
 */

export const SSHD = "/usr/sbin/sshd";
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface BuilderSpec {
  /** Names the builder's store directory and tells the builders apart in their URIs. */
  name: string;
  /** The systems the builder declares in NIX_BUILDERS, e.g. ["x86_64-linux", "i686-linux"]. */
  systems: string[];
  /** Builds it takes at once (the machine's max jobs); default 1. */
  jobs?: number;
}

export interface SshBuilders {
  /** The NIX_BUILDERS value: one machine per spec, separated by ";". */
  builders: string;
  /** Each builder's own line by name, for a NIX_BUILDERS with just that one. */
  machines: Record<string, string>;
  /** Each builder's store URI by name: what nix puts in the build activity's machine field. */
  uris: Record<string, string>;
  /** Each builder's store root by name: what it built is in `<root>/nix/store/`. */
  stores: Record<string, string>;
  /** What nix needs in its environment to reach them (NIX_SSHOPTS). */
  env: Record<string, string>;
  port: number;
  /** Stops sshd and removes the keys, configs and the builders' stores. */
  stop(): Promise<void>;
}

/** Why remote builders cannot be started here, or null when they can. */
export function sshBuildersUnavailable(): string | null {
  if (!existsSync(SSHD)) return `${SSHD} is missing (apt-get install -y openssh-server)`;
  if (findOnPath("ssh") === null || findOnPath("ssh-keygen") === null) return "ssh or ssh-keygen is not on PATH (openssh-client)";
  if (findOnPath("nix-daemon") === null) return "nix-daemon is not on PATH";
  if (process.getuid?.() !== 0) return "builders with a store of their own build in nix's sandbox, which needs root";
  return null;
}

export async function startSshBuilders(specs: BuilderSpec[]): Promise<SshBuilders> {
  const unavailable = sshBuildersUnavailable();
  if (unavailable) throw new Error(`cannot start ssh builders: ${unavailable}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "mafhf-ssh-builder-"));
  let sshd: ChildProcess | null = null;
  try {
    const hostKey = path.join(dir, "host_key");
    const clientKey = path.join(dir, "client_key");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "mafhf-test-host", "-f", hostKey]);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "mafhf-test-client", "-f", clientKey]);
    writeFileSync(path.join(dir, "authorized_keys"), readFileSync(`${clientKey}.pub`), { mode: 0o600 });

    const builderConf = path.join(dir, "builder-nix.conf");
    const bound = ["/bin", "/usr", "/lib", "/lib64"].filter((p) => existsSync(p));
    writeFileSync(
      builderConf,
      [
        "# The builders' own settings: those of the nix that sends them a build do not reach them.",
        "substituters =",
        ...(process.arch === "x64" ? ["extra-platforms = i686-linux"] : []),
        `sandbox-paths = ${bound.join(" ")}`,
        "",
      ].join("\n"),
    );

    const port = await freePort();
    // Debian's sshd refuses to start without its privilege separation directory, which only
    // its service creates.
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const nixBinDir = path.dirname(findOnPath("nix-daemon")!);
    const config = path.join(dir, "sshd_config");
    writeFileSync(
      config,
      [
        "ListenAddress 127.0.0.1",
        `Port ${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${path.join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
        "StrictModes no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "AllowTcpForwarding no",
        "X11Forwarding no",
        `SetEnv NIX_USER_CONF_FILES=${builderConf} PATH=${nixBinDir}:/usr/bin:/bin`,
        "",
      ].join("\n"),
    );
    sshd = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    await listening(sshd, port);

    // Nix checks the host key against this file: no prompt, no trust on first use.
    const knownHosts = path.join(dir, "known_hosts");
    const hostPublic = readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPublic}\n`);
    const sshOpts = [
      ["-p", String(port)],
      ["-F", "/dev/null"],
      ["-o", `UserKnownHostsFile=${knownHosts}`],
      ["-o", "StrictHostKeyChecking=yes"],
      ["-o", "BatchMode=yes"],
      ["-o", "IdentitiesOnly=yes"],
      ["-o", "LogLevel=ERROR"],
    ];

    const user = os.userInfo().username;
    const uris: Record<string, string> = {};
    const stores: Record<string, string> = {};
    const machines: Record<string, string> = {};
    for (const spec of specs) {
      if (!/^[a-z0-9-]+$/.test(spec.name) || spec.name in machines) {
        throw new Error(`builder name "${spec.name}": give each builder its own name of a-z, 0-9 and "-"`);
      }
      const store = path.join(dir, "stores", spec.name);
      mkdirSync(store, { recursive: true });
      stores[spec.name] = store;
      uris[spec.name] = `ssh-ng://${user}@127.0.0.1?remote-store=${store}`;
      // Nix's machine format: URI, systems, ssh key, max jobs, speed factor (then supported and
      // mandatory features and the host's public key, left at their defaults).
      machines[spec.name] = `${uris[spec.name]} ${spec.systems.join(",")} ${clientKey} ${spec.jobs ?? 1} 1`;
    }

    const running = sshd;
    return {
      builders: Object.values(machines).join(";"),
      machines,
      uris,
      stores,
      env: { NIX_SSHOPTS: sshOpts.flat().join(" ") },
      port,
      stop: async () => {
        await stopProcess(running);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (sshd) await stopProcess(sshd);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function findOnPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(":").filter(Boolean)) {
    const file = path.join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not in this directory.
    }
  }
  return null;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr}`))));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once sshd says it listens; rejects with its output if it exits or stays silent. */
function listening(sshd: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`sshd ${why}: ${output.trim()}`));
    };
    const timer = setTimeout(() => fail(`did not listen on port ${port} within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    sshd.on("error", (error) => fail(error.message));
    sshd.on("exit", (code) => fail(`exited with ${code}`));
    // Read on after it is ready, so sshd never blocks on a full pipe.
    sshd.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      if (settled) return;
      output += chunk;
      if (output.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        settled = true;
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
