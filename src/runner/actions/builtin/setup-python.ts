import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { PythonInstalls } from "../../../toolcache/python-installs.js";
import { newestPython, pythonRange } from "../../../toolcache/python-versions.js";
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

/** The files setup-python hashes for its pip cache key when `cache-dependency-path` is not given. */
const PIP_FILES = ["**/requirements.txt", "**/pyproject.toml"];

/**
 * `actions/setup-python` on the machine's tool cache. `python-version` (or the version
 * `python-version-file` names, `.python-version` by default) is served by the newest Python
 * in the tool cache that satisfies it (`3.11`, `3.x`, `>=3.9 <3.12`, `3.11.7`), else, or with
 * `check-latest`, by the newest release in the manifests (`actions/python-versions`' format;
 * `--python-source`), installed into the tool cache by its own `setup.sh` as setup-python
 * does. Without a version the Python on PATH is used, with GitHub's warning. The chosen
 * Python's `bin` goes first on PATH; `update-environment` (default true) sets
 * `pythonLocation`, `Python_ROOT_DIR`, `Python2_ROOT_DIR`, `Python3_ROOT_DIR` and
 * `PKG_CONFIG_PATH`. `cache: pip` restores pip's cache (key: OS, arch, version, the
 * dependency files' hash) and saves it after the job. Outputs `python-version`,
 * `python-path` and `cache-hit`.
 */
export const SETUP_PYTHON: BuiltinAction = {
  name: "actions/setup-python",
  run: (request, context, env) => guarded(context.signal, () => setupPython(request, context, env)),
};

async function setupPython(
  request: ActionRequest,
  context: ActionContext,
  env: BuiltinEnvironment,
): Promise<ActionResult> {
  const inputs = request.with;
  const output = context.output;
  const cache = stringInput(inputs, "cache");
  if (cache && cache !== "pip") return failure(`Caching for '${cache}' is not supported`);
  const arch = stringInput(inputs, "architecture");
  if (arch && arch !== "x64" && arch !== process.arch) {
    return failure(`architecture '${arch}' is not served here: this runner is ${process.arch}`);
  }
  const requested = await requestedVersion(request, context);
  if (typeof requested === "object") return requested;
  if (requested === undefined) {
    output.annotate({
      level: "warning",
      message:
        "The `python-version` input is not set.  The version of Python currently in `PATH` will be used.",
    });
    return { ok: true, outputs: { "cache-hit": "false" } };
  }
  const range = pythonRange(requested);
  if (typeof range === "object") return failure(range.error);
  const pythons = env.pythons ?? new PythonInstalls(env.executor.paths.toolCache, []);
  const allowPre = booleanInput(inputs, "allow-prereleases", false);
  let version = booleanInput(inputs, "check-latest", false)
    ? undefined
    : newestPython(await pythons.cached(), range, allowPre);
  if (!version) {
    output.note(`Version ${requested} was not found in the local cache`);
    const installed = await pythons.install(range, allowPre, (line) => output.note(line));
    if (typeof installed === "object") {
      version = newestPython(await pythons.cached(), range, allowPre);
      if (!version) {
        const here = await pythons.cached();
        return failure(
          `The version '${requested}' with architecture 'x64' was not found for this operating system: ${installed.error}; the tool cache (${pythons.toolCache}) has ${here.join(", ") || "no Python"}`,
        );
      }
      output.annotate({
        level: "warning",
        message: `the newest Python could not be looked up (${installed.error}): using ${version}`,
      });
    } else version = installed;
  }
  const dir = pythons.dir(version);
  const bin = join(dir, "bin");
  if (request.env.GITHUB_PATH) await appendFile(request.env.GITHUB_PATH, `${bin}\n`);
  if (booleanInput(inputs, "update-environment", true) && request.env.GITHUB_ENV) {
    const vars = {
      pythonLocation: dir,
      PKG_CONFIG_PATH: join(dir, "lib", "pkgconfig"),
      Python_ROOT_DIR: dir,
      Python2_ROOT_DIR: dir,
      Python3_ROOT_DIR: dir,
    };
    await appendFile(
      request.env.GITHUB_ENV,
      Object.entries(vars)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(""),
    );
  }
  output.note(`Successfully set up CPython (${version})`);
  let cacheHit = "false";
  if (cache) {
    const restored = await restorePipCache(version, request, context, env);
    if (!restored.ok) return restored;
    cacheHit = restored.outputs["cache-hit"] ?? "false";
  }
  return {
    ok: true,
    outputs: {
      "python-version": version,
      "python-path": join(bin, "python"),
      "cache-hit": cacheHit,
    },
  };
}

/** `python-version`, or the version `python-version-file` (default `.python-version`) names. */
async function requestedVersion(
  request: ActionRequest,
  context: ActionContext,
): Promise<string | undefined | ActionResult> {
  const output = context.output;
  const requested = stringInput(request.with, "python-version");
  const given = stringInput(request.with, "python-version-file");
  if (requested) {
    if (given) {
      output.annotate({
        level: "warning",
        message:
          "Both python-version and python-version-file inputs are specified, only python-version will be used.",
      });
    }
    return requested;
  }
  if (!given) {
    output.note(
      "Neither 'python-version' nor 'python-version-file' inputs were supplied. Attempting to find '.python-version' file.",
    );
  }
  const file = given || ".python-version";
  const path = resolveInputPath(file, context.state.paths.workspace, request.env.HOME);
  const text = await readWorkspaceFile(path, context.state.paths.workspace);
  if (text === undefined) {
    if (given)
      return failure(
        `The specified python version file at: ${path} doesn't exist (in the workspace).`,
      );
    output.note(".python-version doesn't exist.");
    return undefined;
  }
  const version = text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l !== "" && !l.startsWith("#"));
  // What is not a version is not echoed: the file is the repository's, its words need not be.
  if (!version || typeof pythonRange(version) === "object")
    return failure(`No Python version found in ${path}`);
  output.note(`Resolved ${file} as ${version}`);
  return version;
}

/**
 * `cache: pip`: pip's cache directory (`PIP_CACHE_DIR`, else `~/.cache/pip`) restored with
 * `actions/cache` under setup-python's key, and saved after the job.
 */
async function restorePipCache(
  version: string,
  request: ActionRequest,
  context: ActionContext,
  env: BuiltinEnvironment,
): Promise<ActionResult> {
  const workspace = context.state.paths.workspace;
  const given = inputLines(request.with["cache-dependency-path"]);
  const patterns = given.length > 0 ? given : PIP_FILES;
  const hash = hashFiles(workspace, patterns);
  if (!hash) {
    return failure(
      `No file in ${workspace} matched to [${patterns.join(", ")}], make sure you have checked out the target repository`,
    );
  }
  // Where pip keeps its cache, as pip decides it on Linux; asked of no process (`pip cache
  // dir` would run the job's Python, with the job's environment, as the runner).
  const vars = request.env;
  const dir =
    vars.PIP_CACHE_DIR || join(vars.XDG_CACHE_HOME || join(vars.HOME ?? "", ".cache"), "pip");
  const key = `setup-python-${request.env.RUNNER_OS ?? "Linux"}-x64-python-${version}-pip-${hash}`;
  return CACHE.run({ ...request, with: { key, path: dir } }, context, env);
}
