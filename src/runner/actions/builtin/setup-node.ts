import { execFile } from "node:child_process";
import { access, appendFile, constants, readFile, realpath, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { ActionContext, ActionRequest, ActionResult } from "../action-host.js";
import type { BuiltinAction } from "./builtin-action.js";
import { failure, guarded, resolveInputPath, stringInput } from "./builtin-inputs.js";
import {
  formatNodeVersion,
  type NodeRelease,
  type NodeVersionSpec,
  parseNodeVersion,
  parseNodeVersionSpec,
  satisfies,
} from "./node-version-spec.js";

const run = promisify(execFile);

const PACKAGE_MANAGERS = ["npm", "yarn", "pnpm"];

/**
 * `actions/setup-node` without downloading: it checks that a Node.js already on this machine
 * satisfies `node-version` (or the version read from `node-version-file`: `.nvmrc`,
 * `.node-version`, `.tool-versions`, or `package.json`'s `volta.node` / `engines.node`). The
 * `node` on the step's PATH is preferred; failing that, the Node running Trunkline, which is
 * then put first on PATH for later steps. Neither fitting fails the step, naming both.
 * `cache` is accepted (dependency caching is `actions/cache`'s job locally) and does nothing.
 * Outputs `node-version` (the version used, `v20.1.0`) and `cache-hit` (`false`).
 */
export const SETUP_NODE: BuiltinAction = {
  name: "actions/setup-node",
  run: (request, context) => guarded(context.signal, () => setupNode(request, context)),
};

/** A Node.js binary found on this machine. */
interface Candidate {
  readonly path: string;
  readonly release: NodeRelease;
  /** True for the `node` on the step's PATH, false for the one running Trunkline. */
  readonly onPath: boolean;
}

async function setupNode(request: ActionRequest, context: ActionContext): Promise<ActionResult> {
  const inputs = request.with;
  const output = context.output;
  let requested = stringInput(inputs, "node-version");
  const versionFile = stringInput(inputs, "node-version-file");
  if (requested && versionFile) {
    output.annotate({
      level: "warning",
      message:
        "Both node-version and node-version-file inputs are specified, only node-version will be used",
    });
  } else if (versionFile) {
    const path = resolveInputPath(versionFile, context.state.paths.workspace, request.env.HOME);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch {
      return failure(`The specified node version file at: ${path} does not exist`);
    }
    const fromFile = versionFromFile(text);
    if (fromFile) {
      output.note(`Resolved ${versionFile} as ${fromFile}`);
      requested = fromFile;
    } else {
      output.annotate({
        level: "warning",
        message: `Could not determine node version from ${path}. Falling back`,
      });
    }
  }
  const cache = stringInput(inputs, "cache");
  if (cache && !PACKAGE_MANAGERS.includes(cache)) {
    return failure(`Caching for '${cache}' is not supported`);
  }
  if (cache) {
    output.note(
      `cache: ${cache} does nothing when running locally: cache dependencies with actions/cache`,
    );
  }
  if (stringInput(inputs, "registry-url")) {
    output.note("registry-url is ignored when running locally: no .npmrc is written");
  }

  const spec = requested ? parseNodeVersionSpec(requested) : undefined;
  const candidates = await findNodes(request.env, context.signal);
  const chosen = spec ? candidates.find((c) => satisfies(spec, c.release)) : candidates[0];
  if (!chosen) {
    const available = candidates
      .map((c) => `${formatNodeVersion(c.release.version)} (${c.path})`)
      .join(" and ");
    return failure(
      `Node.js ${requested} was requested, but this machine only has ${available || "no Node.js"}; Trunkline cannot download Node.js: install a matching version or change node-version`,
    );
  }
  if (spec) explainOfflineLimits(spec, context);
  const version = formatNodeVersion(chosen.release.version);
  if (!chosen.onPath) {
    const dir = dirname(chosen.path);
    if (request.env.GITHUB_PATH) await appendFile(request.env.GITHUB_PATH, `${dir}\n`);
    output.note(`Added ${dir} to PATH`);
  }
  output.note(`Using Node.js ${version} at ${chosen.path}`);
  return { ok: true, outputs: { "node-version": version, "cache-hit": "false" } };
}

/**
 * The version a version file names, as setup-node reads it: `package.json`'s `volta.node`
 * then `engines.node` (a JSON file without them names none); otherwise the first line that
 * is one word, optionally after `node` or `nodejs` (`.tool-versions`), without a leading `v`.
 * Undefined when there is none.
 */
export function versionFromFile(text: string): string | undefined {
  try {
    const manifest: unknown = JSON.parse(text);
    if (typeof manifest === "object" && manifest !== null) {
      const m = manifest as { volta?: { node?: unknown }; engines?: { node?: unknown } };
      const found = m.volta?.node ?? m.engines?.node;
      return typeof found === "string" && found.trim() ? found.trim() : undefined;
    }
  } catch {
    // Not JSON: a plain version file.
  }
  const found = /^(?:node(?:js)?\s+)?v?(?<version>[^\s]+)$/m.exec(text)?.groups?.version;
  return found ?? (text.trim() || undefined);
}

function explainOfflineLimits(spec: NodeVersionSpec, context: ActionContext): void {
  if (spec.kind === "latest") {
    context.output.note(
      `'${spec.source}' asks for the newest Node.js, which cannot be looked up offline: the Node.js found is used`,
    );
  } else if (spec.kind === "lts" && spec.codename === undefined) {
    context.output.annotate({
      level: spec.source === "lts/*" ? "notice" : "warning",
      message: `'${spec.source}' cannot be resolved offline: any LTS release found is accepted`,
    });
  }
}

/** The `node` on PATH, then the Node running Trunkline when it is another binary. */
async function findNodes(
  env: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<Candidate[]> {
  const found: Candidate[] = [];
  const onPath = await which("node", env.PATH ?? "");
  if (onPath) {
    const release = await probe(onPath, env, signal);
    if (release) found.push({ path: onPath, release, onPath: true });
  }
  const own = process.execPath;
  const same = onPath !== undefined && (await realpath(onPath)) === (await realpath(own));
  const version = parseNodeVersion(process.version);
  if (!same && version) {
    found.push({ path: own, release: { version, lts: process.release.lts ?? "" }, onPath: false });
  }
  return found;
}

async function which(name: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // Not here.
    }
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
