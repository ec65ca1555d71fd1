import { execFile } from "node:child_process";
import { access, constants, readdir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import semver from "semver";
import type { NodeRuntimes } from "../../../toolcache/node-runtimes.js";
import {
  ltsLine,
  type NodeRelease,
  parseNodeVersion,
} from "../../../toolcache/node-version-spec.js";

const run = promisify(execFile);

/** A Node.js binary already on this machine. */
export interface LocalNode {
  readonly path: string;
  readonly release: NodeRelease;
  /** Where it was found: the tool cache, a version manager, the step's PATH, or Trunkline's own. */
  readonly from: "tool cache" | "nvm" | "fnm" | "volta" | "PATH" | "trunkline";
}

/**
 * Every Node.js on this machine that setup-node may use, newest first (on a tie, in the order
 * of `from`'s list): complete copies in the tool cache, the versions nvm (`$NVM_DIR`, else
 * `~/.nvm`), fnm (`$FNM_DIR`, else `~/.local/share/fnm`, `~/.fnm`) and Volta (`$VOLTA_HOME`,
 * else `~/.volta`) installed, the `node` on the step's PATH, and the Node running Trunkline.
 */
export async function localNodes(
  env: Readonly<Record<string, string>>,
  signal: AbortSignal,
  runtimes: NodeRuntimes | undefined,
): Promise<LocalNode[]> {
  const home = env.HOME ?? "";
  const found: LocalNode[] = [];
  const add = (from: LocalNode["from"], path: string, version: string) => {
    const v = parseNodeVersion(version);
    if (v) found.push({ path, release: { version: v, lts: ltsLine(v) }, from });
  };
  for (const v of (await runtimes?.cachedVersions()) ?? [])
    add("tool cache", runtimes?.binaryOf(v) ?? "", v);
  const managers: [LocalNode["from"], string, (v: string) => string][] = [
    ["nvm", join(env.NVM_DIR || join(home, ".nvm"), "versions", "node"), (v) => join(v, "bin")],
    ...[env.FNM_DIR, join(home, ".local", "share", "fnm"), join(home, ".fnm")]
      .filter((d): d is string => Boolean(d))
      .map(
        (d) =>
          ["fnm", join(d, "node-versions"), (v: string) => join(v, "installation", "bin")] as [
            LocalNode["from"],
            string,
            (v: string) => string,
          ],
      ),
    [
      "volta",
      join(env.VOLTA_HOME || join(home, ".volta"), "tools", "image", "node"),
      (v) => join(v, "bin"),
    ],
  ];
  for (const [from, dir, bin] of managers) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const node = join(dir, bin(name), "node");
      if (await isExecutable(node)) add(from, node, name);
    }
  }
  const onPath = await which("node", env.PATH ?? "");
  if (onPath) {
    const release = await probe(onPath, env, signal);
    if (release) found.push({ path: onPath, release, from: "PATH" });
  }
  const own = process.execPath;
  const same = onPath !== undefined && (await realpath(onPath)) === (await realpath(own));
  if (!same) add("trunkline", own, process.version);
  const order: LocalNode["from"][] = ["tool cache", "nvm", "fnm", "volta", "PATH", "trunkline"];
  return found.sort(
    (a, b) =>
      semver.rcompare(a.release.version, b.release.version) ||
      order.indexOf(a.from) - order.indexOf(b.from),
  );
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function which(name: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Asks a node binary its version and LTS name; undefined if it does not answer sensibly. */
async function probe(
  node: string,
  env: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<NodeRelease | undefined> {
  // NODE_OPTIONS could preload code or refuse to start; the question needs none of it.
  const { NODE_OPTIONS: _ignored, ...clean } = env;
  try {
    const { stdout } = await run(
      node,
      ["-p", "process.version + ' ' + (process.release.lts || '')"],
      { env: clean, signal, timeout: 15_000 },
    );
    const [text = "", lts = ""] = stdout.trim().split(/\s+/);
    const version = parseNodeVersion(text);
    return version ? { version, lts } : undefined;
  } catch {
    return undefined;
  }
}
