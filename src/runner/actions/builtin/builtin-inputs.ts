import { resolve } from "node:path";
import { InputError, TrunklineError } from "../../../common/errors.js";
import type { ActionResult } from "../action-host.js";

/**
 * The non-empty, trimmed lines of a multi-line input (`path:`, `restore-keys:`), as
 * `core.getMultilineInput` and the actions' own splitting give them.
 */
export function inputLines(value: string | undefined): string[] {
  return (value ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/**
 * A boolean input read as `core.getBooleanInput` reads it: the YAML 1.2 core schema's
 * `true | True | TRUE | false | False | FALSE`, `fallback` when empty or absent. Anything else
 * is the user's mistake: throws an {@link InputError} naming the input.
 */
export function booleanInput(
  inputs: Readonly<Record<string, string>>,
  name: string,
  fallback: boolean,
): boolean {
  const value = (inputs[name] ?? "").trim();
  if (value === "") return fallback;
  if (value === "true" || value === "True" || value === "TRUE") return true;
  if (value === "false" || value === "False" || value === "FALSE") return false;
  throw new InputError(
    `Input does not meet YAML 1.2 "Core Schema" specification: ${name}\n` +
      "Support boolean input list: `true | True | TRUE | false | False | FALSE`",
  );
}

/** The value of a string input, trimmed; `fallback` when empty or absent. */
export function stringInput(
  inputs: Readonly<Record<string, string>>,
  name: string,
  fallback = "",
): string {
  const value = (inputs[name] ?? "").trim();
  return value === "" ? fallback : value;
}

/**
 * A path input made absolute: relative to `workspace`, or to `home` when it starts with `~`.
 * Throws an {@link InputError} for `~` without a home.
 */
export function resolveInputPath(
  path: string,
  workspace: string,
  home: string | undefined,
): string {
  if (path === "~" || path.startsWith("~/")) {
    if (!home) throw new InputError(`cannot expand '~' in '${path}': HOME is not set`);
    return resolve(home, `.${path.slice(1)}`);
  }
  return resolve(workspace, path);
}

/**
 * The text of a file a version input names (`node-version-file`, `python-version-file`),
 * read only when it lies in the workspace once links are followed: the runner reads it, and
 * the runner may see what the job may not. Undefined when there is no such file there.
 */
export async function readWorkspaceFile(
  path: string,
  workspace: string,
): Promise<string | undefined> {
  const { readFile, realpath } = await import("node:fs/promises");
  const { isWithin } = await import("./find-files.js");
  const [real, root] = await Promise.all([
    realpath(path).catch(() => undefined),
    realpath(workspace).catch(() => workspace),
  ]);
  if (real === undefined || !isWithin(root, real)) return undefined;
  return readFile(real, "utf8").catch(() => undefined);
}

/**
 * Runs an action's body and turns a user-facing {@link TrunklineError} (a user mistake) into
 * a failed result carrying its message, so a mistake never surfaces as a thrown error. After
 * `signal` was aborted any error is a failed result, which the runner reports as cancelled.
 * Any other error is a bug or an I/O failure and is rethrown for the runner to report.
 */
export async function guarded(
  signal: AbortSignal,
  body: () => Promise<ActionResult>,
): Promise<ActionResult> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof TrunklineError && err.userFacing) {
      return { ok: false, outputs: {}, message: err.message };
    }
    if (signal.aborted) return { ok: false, outputs: {}, message: "The step was cancelled." };
    throw err;
  }
}

/** A failed result with `message`. */
export function failure(message: string): ActionResult {
  return { ok: false, outputs: {}, message };
}
