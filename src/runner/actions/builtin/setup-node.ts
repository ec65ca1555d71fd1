import { execFile } from "node:child_process";
import { appendFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { NodeRuntimes } from "../../../toolcache/node-runtimes.js";
import {
  formatNodeVersion,
  type NodeVersionSpec,
  newestSatisfying,
  parseNodeVersionSpec,
  satisfies,
} from "../../../toolcache/node-version-spec.js";
import { hashFiles } from "../../hash-files.js";
import type { ActionContext, ActionRequest, ActionResult } from "../action-host.js";
import type { BuiltinAction, BuiltinEnvironment } from "./builtin-action.js";
import {
  booleanInput,
  failure,
  guarded,
  inputLines,
  readWorkspaceFile,
  resolveInputPath,
  stringInput,
} from "./builtin-inputs.js";
import { CACHE } from "./cache-actions.js";
import { type LocalNode, localNodes } from "./local-nodes.js";

const run = promisify(execFile);

/** The lock files setup-node hashes for its cache key, per package manager. */
const LOCK_FILES: Readonly<Record<string, readonly string[]>> = {
  npm: ["package-lock.json", "npm-shrinkwrap.json", "yarn.lock"],
  yarn: ["yarn.lock"],
  pnpm: ["pnpm-lock.yaml"],
};

/**
 * `actions/setup-node` on the machine's tool cache. `node-version` (or the version
 * `node-version-file` names: `.nvmrc`, `.node-version`, `.tool-versions`, `package.json`'s
 * `volta.node` / `engines.node`) is served by the newest Node.js already here that satisfies
 * it (the tool cache, nvm, fnm or Volta installs, the `node` on PATH, the Node running
 * Trunkline), else installed from the runtime sources (nodejs.org's archive with its npm, or
 * the npm registry's package with a fitting npm) into the tool cache; `check-latest`,
 * `latest` and `lts/*` ask the sources for the newest first. The chosen Node's directory goes
 * first on PATH for later steps. `cache: npm|yarn|pnpm` restores the package manager's cache
 * (key: platform, manager, the lock files' hash; `cache-dependency-path` names the lock
 * files) and saves it after the job. `registry-url` (and `scope`) writes an `.npmrc` that
 * reads `NODE_AUTH_TOKEN`. Outputs `node-version` (`v20.1.0`) and `cache-hit`.
 */
export const SETUP_NODE: BuiltinAction = {
  name: "actions/setup-node",
  run: (request, context, env) => guarded(context.signal, () => setupNode(request, context, env)),
};

async function setupNode(
  request: ActionRequest,
  context: ActionContext,
  env: BuiltinEnvironment,
): Promise<ActionResult> {
  const inputs = request.with;
  const output = context.output;
  const requested = await requestedVersion(request, context);
  if (typeof requested === "object") return requested;
  const cache = stringInput(inputs, "cache");
  if (cache && !LOCK_FILES[cache]) return failure(`Caching for '${cache}' is not supported`);
  const spec = requested ? parseNodeVersionSpec(requested) : undefined;
  const local = await localNodes(request.env, context.signal, env.runtimes);
  const chosen = spec
    ? await choose(spec, booleanInput(inputs, "check-latest", false), local, env.runtimes, context)
    : (local.find((n) => n.from === "PATH") ?? local.find((n) => n.from === "trunkline"));
  if (!chosen || "error" in chosen) {
    const here = local.map((n) => `${formatNodeVersion(n.release.version)} (${n.path})`);
    return failure(
      `Node.js ${requested} was requested, but ${chosen ? chosen.error : "it is not on this machine"}; this machine has ${here.join(", ") || "no Node.js"}`,
    );
  }
  const version = formatNodeVersion(chosen.release.version);
  const bin = dirname(chosen.path);
  if (chosen.from !== "PATH") {
    if (request.env.GITHUB_PATH) await appendFile(request.env.GITHUB_PATH, `${bin}\n`);
    output.note(`Added ${bin} to PATH`);
  }
  output.note(`Using Node.js ${version} at ${chosen.path} (${chosen.from})`);
  await writeNpmrc(request, context);
  let cacheHit = "false";
  if (cache) {
    const restored = await restoreCache(cache, bin, request, context, env);
    if (!restored.ok) return restored;
    cacheHit = restored.outputs["cache-hit"] ?? "false";
  }
  return { ok: true, outputs: { "node-version": version, "cache-hit": cacheHit } };
}

/** `node-version`, or the version `node-version-file` names; a failed result when the file is missing. */
async function requestedVersion(
  request: ActionRequest,
  context: ActionContext,
): Promise<string | undefined | ActionResult> {
  const output = context.output;
  const requested = stringInput(request.with, "node-version");
  const versionFile = stringInput(request.with, "node-version-file");
  if (requested && versionFile) {
    output.annotate({
      level: "warning",
      message:
        "Both node-version and node-version-file inputs are specified, only node-version will be used",
    });
    return requested;
  }
  if (!versionFile) return requested;
  const path = resolveInputPath(versionFile, context.state.paths.workspace, request.env.HOME);
  const text = await readWorkspaceFile(path, context.state.paths.workspace);
  if (text === undefined) {
    return failure(`The specified node version file at: ${path} does not exist (in the workspace)`);
  }
  const fromFile = versionFromFile(text);
  if (fromFile) {
    output.note(`Resolved ${versionFile} as ${fromFile}`);
    return fromFile;
  }
  output.annotate({
    level: "warning",
    message: `Could not determine node version from ${path}. Falling back`,
  });
  return undefined;
}

/**
 * The Node for `spec`: the newest here that satisfies it, unless the spec (or
 * `check-latest`) wants the newest release there is, which the sources are asked for; a
 * release not here is installed into the tool cache. Offline, a Node here that satisfies the
 * spec stands in for the newest, with a warning.
 */
async function choose(
  spec: NodeVersionSpec,
  checkLatest: boolean,
  local: readonly LocalNode[],
  runtimes: NodeRuntimes | undefined,
  context: ActionContext,
): Promise<LocalNode | { error: string } | undefined> {
  const here = local.find((n) => satisfies(spec, n.release));
  const wantsNewest =
    checkLatest || spec.kind === "latest" || (spec.kind === "lts" && spec.codename === undefined);
  if (here && !wantsNewest) return here;
  if (!runtimes) return here ?? { error: "Node.js cannot be downloaded here (no runtime cache)" };
  const listed = await runtimes.releases();
  if ("error" in listed) {
    if (here) {
      context.output.annotate({
        level: "warning",
        message: `'${spec.source}': the newest release could not be looked up (${listed.error}): using ${formatNodeVersion(here.release.version)}`,
      });
      return here;
    }
    return { error: `it cannot be looked up: ${listed.error}` };
  }
  const wanted = newestSatisfying(spec, listed.releases);
  if (!wanted) return here ?? { error: `no release satisfies it at ${listed.source}` };
  const same = local.find((n) => n.release.version === wanted.version);
  if (same) return same;
  context.output.note(`Attempting to download ${wanted.version}...`);
  const path = await runtimes.installNewest(
    (r) => r.version === wanted.version,
    (line) => context.output.note(line),
  );
  if (typeof path !== "string") return { error: path.error };
  return { path, release: wanted, from: "tool cache" };
}

/**
 * `cache:`: the package manager's cache directory restored with `actions/cache` under
 * setup-node's key, and saved after the job when the key was not an exact hit.
 */
async function restoreCache(
  manager: string,
  bin: string,
  request: ActionRequest,
  context: ActionContext,
  env: BuiltinEnvironment,
): Promise<ActionResult> {
  const workspace = context.state.paths.workspace;
  const given = inputLines(request.with["cache-dependency-path"]);
  const patterns = given.length > 0 ? given : (LOCK_FILES[manager] ?? []);
  const hash = hashFiles(workspace, patterns);
  if (!hash) {
    return failure(
      `Dependencies lock file is not found in ${workspace}. Supported file patterns: ${patterns.join(",")}`,
    );
  }
  const dir = await cacheDirectory(manager, bin, request.env, workspace);
  if (!dir) return failure(`Could not get the ${manager} cache folder path`);
  const key = `node-cache-${process.platform}-${process.arch}-${manager}-${hash}`;
  return CACHE.run({ ...request, with: { key, path: dir } }, context, env);
}

/** Where the package manager keeps its cache, as it says itself (npm's needs no process). */
async function cacheDirectory(
  manager: string,
  bin: string,
  env: Readonly<Record<string, string>>,
  cwd: string,
): Promise<string | undefined> {
  if (manager === "npm")
    return env.npm_config_cache || env.NPM_CONFIG_CACHE || join(env.HOME ?? "", ".npm");
  const command: [string, string[]][] =
    manager === "pnpm"
      ? [["pnpm", ["store", "path", "--silent"]]]
      : [
          ["yarn", ["cache", "dir"]],
          ["yarn", ["config", "get", "cacheFolder"]],
        ];
  for (const [program, args] of command) {
    try {
      const { stdout } = await run(program, args, {
        cwd,
        env: { ...env, PATH: `${bin}:${env.PATH ?? ""}` },
        timeout: 60_000,
      });
      const dir = stdout.trim().split("\n").pop()?.trim();
      if (dir && !dir.startsWith("undefined")) return dir;
    } catch {
      // The next way of asking, or none.
    }
  }
  return undefined;
}

/**
 * `registry-url`: an `.npmrc` in the runner's temp directory naming the registry (for
 * `scope`, that scope's) and reading the token from `NODE_AUTH_TOKEN`, made the user config
 * of later steps; `NODE_AUTH_TOKEN` gets setup-node's placeholder when it is not set.
 */
async function writeNpmrc(request: ActionRequest, context: ActionContext): Promise<void> {
  const registry = stringInput(request.with, "registry-url");
  if (!registry) return;
  const url = registry.endsWith("/") ? registry : `${registry}/`;
  let scope = stringInput(request.with, "scope") ?? "";
  if (scope && !scope.startsWith("@")) scope = `@${scope}`;
  const auth = url.replace(/^\w+:/, "");
  const lines = [
    `${auth}:_authToken=\${NODE_AUTH_TOKEN}`,
    `${scope ? `${scope}:` : ""}registry=${url}`,
  ];
  if (booleanInput(request.with, "always-auth", false)) lines.push("always-auth=true");
  const file = join(request.env.RUNNER_TEMP ?? context.state.paths.temp, ".npmrc");
  await writeFile(file, `${lines.join("\n")}\n`);
  if (request.env.GITHUB_ENV) {
    const token = request.env.NODE_AUTH_TOKEN || "XXXXX-XXXXX-XXXXX-XXXXX";
    await appendFile(
      request.env.GITHUB_ENV,
      `NPM_CONFIG_USERCONFIG=${file}\nNODE_AUTH_TOKEN=${token}\n`,
    );
  }
  context.output.note(`Wrote ${file} for ${url}`);
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
