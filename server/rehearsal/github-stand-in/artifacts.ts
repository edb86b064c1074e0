import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { strToU8, zipSync } from "fflate";

/**
 * The nixpkgs CI `comparison` artifact (ci/eval/compare/default.nix) and GitHub's signed,
 * short-lived download URLs for artifact archives.
 */
const REBUILD_BUCKETS = [
  { label: "0", min: 0, max: 0 },
  { label: "1", min: 1, max: 1 },
  { label: "1-10", min: 1, max: 10 },
  { label: "11-100", min: 11, max: 100 },
  { label: "101-500", min: 101, max: 500 },
  { label: "501+", min: 501, max: Number.POSITIVE_INFINITY },
  { label: "501-1000", min: 501, max: 1000 },
  { label: "1001-2500", min: 1001, max: 2500 },
  { label: "2501-5000", min: 2501, max: 5000 },
  { label: "5001+", min: 5001, max: Number.POSITIVE_INFINITY },
];

type Kernel = "linux" | "darwin";

function kernelOf(system: string): Kernel | null {
  if (system.endsWith("-linux")) return "linux";
  if (system.endsWith("-darwin")) return "darwin";
  return null;
}

export function buildChangedPaths(rebuildsByPlatform: Record<string, string[]>): Record<string, unknown> {
  const byKernel: Record<Kernel, Set<string>> = { linux: new Set(), darwin: new Set() };
  const all = new Set<string>();
  for (const [system, attrs] of Object.entries(rebuildsByPlatform)) {
    const kernel = kernelOf(system);
    for (const attr of attrs) {
      all.add(attr);
      if (kernel) byKernel[kernel].add(attr);
    }
  }
  const labels: Record<string, boolean> = {};
  for (const kernel of ["linux", "darwin"] as const) {
    const count = byKernel[kernel].size;
    for (const bucket of REBUILD_BUCKETS) {
      labels[`10.rebuild-${kernel}: ${bucket.label}`] = count >= bucket.min && count <= bucket.max;
    }
    labels[`10.rebuild-${kernel}-stdenv`] = byKernel[kernel].has("stdenv");
  }
  const sorted = (set: Set<string>) => [...set].sort();
  return {
    attrdiff: { added: [], changed: sorted(all), removed: [] },
    rebuildsByPlatform,
    rebuildsByKernel: { linux: sorted(byKernel.linux), darwin: sorted(byKernel.darwin) },
    rebuildCountByKernel: { linux: byKernel.linux.size, darwin: byKernel.darwin.size },
    labels,
  };
}

export type ArtifactName = "comparison" | "maintainers";

export function buildArtifactZip(name: ArtifactName, rebuildsByPlatform: Record<string, string[]>): Uint8Array {
  if (name === "maintainers") {
    return zipSync({ "maintainers.json": strToU8("{}\n") });
  }
  const changedPaths = buildChangedPaths(rebuildsByPlatform);
  const count = changedPaths.rebuildCountByKernel as Record<Kernel, number>;
  return zipSync({
    "changed-paths.json": strToU8(JSON.stringify(changedPaths, null, 2)),
    "step-summary.md": strToU8(`Rebuild: linux ${count.linux}, darwin ${count.darwin}\n`),
    "maintainers.json": strToU8("{}\n"),
  });
}

/** Like GitHub's blob-storage redirect: anyone holding the URL may download it, for one minute. */
export class ArtifactUrlSigner {
  private readonly key = randomBytes(32);
  static readonly VALID_SECONDS = 60;

  sign(baseUrl: string, artifactId: number): string {
    const expires = Math.floor(Date.now() / 1000) + ArtifactUrlSigner.VALID_SECONDS;
    return `${baseUrl}/_artifact-blobs/${artifactId}.zip?expires=${expires}&sig=${this.signature(artifactId, expires)}`;
  }

  verify(artifactId: number, expires: string | null, sig: string | null): boolean {
    if (!expires || !sig || !/^\d+$/.test(expires)) return false;
    if (Number(expires) < Math.floor(Date.now() / 1000)) return false;
    const expected = Buffer.from(this.signature(artifactId, Number(expires)), "hex");
    const given = Buffer.from(sig, "hex");
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private signature(artifactId: number, expires: number): string {
    return createHmac("sha256", this.key).update(`${artifactId}.${expires}`).digest("hex");
  }
}
