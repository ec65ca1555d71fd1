import { readlink } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { InputError } from "../../../common/errors.js";
import type { StepOutput } from "../../step-output.js";
import type { ActionRequest, ActionResult } from "../action-host.js";
import type { BuiltinAction } from "./builtin-action.js";
import { booleanInput, guarded, inputLines, stringInput } from "./builtin-inputs.js";
import {
  type CacheBackend,
  type CacheRoot,
  CacheStore,
  cacheVersion,
  rootProblem,
} from "./cache-store.js";
import { createArchive } from "./create-archive.js";
import { entryProblem, extractArchive } from "./extract-archive.js";
import { type FoundFile, findFiles, isWithin, searchPaths } from "./find-files.js";
import { type GlobPattern, parseGlobPatterns } from "./glob-pattern.js";

/** GitHub's limits on cache keys. */
const MAX_KEYS = 10;
const MAX_KEY_LENGTH = 512;

/** A cache step's inputs, resolved. */
interface CacheInputs {
  readonly key: string;
  readonly restoreKeys: readonly string[];
  readonly patterns: readonly GlobPattern[];
  readonly version: string;
  /** The patterns' search paths: each is the root of one archive of an entry. */
  readonly roots: readonly string[];
}

/**
 * `actions/cache` (v4) on the repository's {@link CacheStore}. Inputs: `key` (required), `path`
 * (required; patterns, `~` is HOME, `!` excludes), `restore-keys` (prefixes, in order),
 * `lookup-only`, `fail-on-cache-miss`. Restores with GitHub's matching rule; outputs
 * `cache-hit` (`true` only for the exact key), `cache-primary-key`, `cache-matched-key`. Saves
 * in a post step run on `success()`, unless the key itself was restored. Links are stored as
 * links; a link pointing outside its path is left out with a warning, since restoring refuses
 * it.
 */
export const CACHE: BuiltinAction = {
  name: "actions/cache",
  run: (request, context, env) =>
    guarded(context.signal, async () => {
      const inputs = readInputs(request, context.state.paths.workspace);
      const store = env.caches ?? new CacheStore(env.cacheDir);
      const restored = await restore(inputs, store, request, context.output, context.signal);
      if (restored.ok) {
        context.registerPost({
          name: request.name,
          if: "success()",
          env: request.stepEnv,
          run: async ({ output, signal }) => {
            if (restored.outputs["cache-hit"] === "true") {
              output.note(`Cache hit occurred on the primary key ${inputs.key}, not saving cache.`);
              return { ok: true };
            }
            return save(inputs, store, output, signal);
          },
        });
      }
      return restored;
    }),
};

/** `actions/cache/restore`: the restoring half of {@link CACHE}, with the same inputs and outputs. */
export const CACHE_RESTORE: BuiltinAction = {
  name: "actions/cache/restore",
  run: (request, context, env) =>
    guarded(context.signal, async () => {
      const inputs = readInputs(request, context.state.paths.workspace);
      const store = env.caches ?? new CacheStore(env.cacheDir);
      return restore(inputs, store, request, context.output, context.signal);
    }),
};

/** `actions/cache/save`: saves `path` under `key` now; a key already saved is left as it is. */
export const CACHE_SAVE: BuiltinAction = {
  name: "actions/cache/save",
  run: (request, context, env) =>
    guarded(context.signal, async () => {
      const inputs = readInputs(request, context.state.paths.workspace);
      const result = await save(
        inputs,
        env.caches ?? new CacheStore(env.cacheDir),
        context.output,
        context.signal,
      );
      return { ...result, outputs: {} };
    }),
};

function readInputs(request: ActionRequest, workspace: string): CacheInputs {
  const key = stringInput(request.with, "key");
  if (!key) throw new InputError("Input required and not supplied: key");
  const lines = inputLines(request.with.path);
  if (lines.length === 0) throw new InputError("Input required and not supplied: path");
  const restoreKeys = inputLines(request.with["restore-keys"]);
  const keys = [key, ...restoreKeys];
  if (keys.length > MAX_KEYS) {
    throw new InputError(`Key Validation Error: Keys are limited to a maximum of ${MAX_KEYS}.`);
  }
  for (const k of keys) {
    if (k.length > MAX_KEY_LENGTH) {
      throw new InputError(
        `Key Validation Error: ${k} cannot be larger than ${MAX_KEY_LENGTH} characters.`,
      );
    }
    if (k.includes(",")) throw new InputError(`Key Validation Error: ${k} cannot contain commas.`);
  }
  const patterns = parseGlobPatterns(lines, workspace, request.env.HOME);
  return { key, restoreKeys, patterns, version: cacheVersion(lines), roots: searchPaths(patterns) };
}

async function restore(
  inputs: CacheInputs,
  store: CacheBackend,
  request: ActionRequest,
  output: StepOutput,
  signal: AbortSignal,
): Promise<ActionResult> {
  const lookupOnly = booleanInput(request.with, "lookup-only", false);
  const failOnMiss = booleanInput(request.with, "fail-on-cache-miss", false);
  const found = await store.match(inputs.key, inputs.restoreKeys, inputs.version);
  const outputs: Record<string, string> = {
    "cache-hit": String(found?.exact ?? false),
    "cache-primary-key": inputs.key,
    "cache-matched-key": found?.entry.key ?? "",
  };
  if (!found) {
    if (failOnMiss) {
      return {
        ok: false,
        outputs,
        message: `Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: ${inputs.key}`,
      };
    }
    output.note(
      `Cache not found for input keys: ${[inputs.key, ...inputs.restoreKeys].join(", ")}`,
    );
    return { ok: true, outputs };
  }
  if (lookupOnly) {
    output.note(`Cache found and can be restored from key: ${found.entry.key}`);
    return { ok: true, outputs };
  }
  for (const root of found.entry.roots) {
    const bad = rootProblem(root);
    if (bad) throw new InputError(`cache entry '${found.entry.key}' is malformed: ${bad}`);
    const path = inputs.roots[root.index];
    if (path === undefined || (root.single !== undefined && basename(path) !== root.single)) {
      throw new InputError(
        `cache entry '${found.entry.key}' does not fit the paths it was found for: save it again under a new key`,
      );
    }
    await extractArchive(join(found.entry.dir, root.archive), root.single ? dirname(path) : path, {
      label: `cache entry '${found.entry.key}'`,
      signal,
      ...(root.single === undefined ? {} : { only: root.single }),
    });
  }
  output.note(`Cache restored from key: ${found.entry.key}`);
  return { ok: true, outputs };
}

/**
 * Saves the files the patterns select under the key. Like the real action it never fails
 * the step for a problem saving (nothing to save, the key taken, an I/O error): it warns.
 */
async function save(
  inputs: CacheInputs,
  store: CacheBackend,
  output: StepOutput,
  signal: AbortSignal,
): Promise<{ ok: boolean; message?: string }> {
  if (await store.exists(inputs.key, inputs.version)) {
    output.note(`Cache entry for key '${inputs.key}' already exists: not saving it again.`);
    return { ok: true };
  }
  try {
    const found = await findFiles(inputs.patterns, {
      followSymlinks: false,
      includeHidden: true,
      signal,
    });
    for (const note of found.notes) output.note(note);
    const plans = await planArchives(inputs.roots, found.files, output);
    if (plans.length === 0) {
      output.annotate({
        level: "warning",
        message:
          "Path Validation Error: Path(s) specified in the action for caching do(es) not exist, hence no cache is being saved.",
      });
      return { ok: true };
    }
    const outcome = await store.save(inputs.key, inputs.version, async (dir) => {
      for (const plan of plans) {
        await createArchive(join(dir, plan.root.archive), plan.cwd, plan.paths, {
          followSymlinks: false,
          gzipLevel: 6,
          onVanished: (path) =>
            output.note(`Left out ${path}: it was removed while the cache was saved.`),
        });
      }
      return plans.map((p) => p.root);
    });
    if (outcome === "exists") {
      output.note(`Cache entry for key '${inputs.key}' already exists: not saving it again.`);
    } else {
      output.note(`Cache saved with key: ${inputs.key}`);
    }
  } catch (err) {
    output.annotate({ level: "warning", message: `Failed to save: ${(err as Error).message}` });
  }
  return { ok: true };
}

/** One archive to write: which root, from which directory, which relative paths. */
interface ArchivePlan {
  readonly root: CacheRoot;
  readonly cwd: string;
  readonly paths: string[];
}

async function planArchives(
  roots: readonly string[],
  files: readonly FoundFile[],
  output: StepOutput,
): Promise<ArchivePlan[]> {
  const plans: ArchivePlan[] = [];
  const leftOut: string[] = [];
  for (const [index, root] of roots.entries()) {
    const mine = files.filter((f) => isWithin(root, f.path));
    if (mine.length === 0) continue;
    const single = mine.length === 1 && mine[0]?.path === root ? basename(root) : undefined;
    const cwd = single === undefined ? root : dirname(root);
    const paths: string[] = [];
    for (const file of mine) {
      const path = relative(cwd, file.path);
      if (file.symlink) {
        const linkpath = await readlink(file.path);
        if (entryProblem({ path, type: "SymbolicLink", linkpath }, single)) {
          leftOut.push(`${file.path} -> ${linkpath}`);
          continue;
        }
      }
      paths.push(path);
    }
    if (paths.length === 0) continue;
    plans.push({
      root: { index, archive: `${index}.tgz`, ...(single === undefined ? {} : { single }) },
      cwd,
      paths,
    });
  }
  if (leftOut.length > 0) {
    const shown = leftOut.slice(0, 5).join(", ");
    const more = leftOut.length > 5 ? ` and ${leftOut.length - 5} more` : "";
    output.annotate({
      level: "warning",
      message: `Not cached: symbolic links pointing outside the cached path (restoring refuses them): ${shown}${more}`,
    });
  }
  return plans;
}
