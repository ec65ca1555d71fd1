import { isAbsolute, join } from "node:path";
import type { Executor } from "../executors/executor.js";
import { rewriteFileSync } from "../executors/rewrite-file.js";
import { resolveShell } from "./shell.js";
import type { StepOutput } from "./step-output.js";

/** One script to run as a step: its text, shell, directory and full environment. */
export interface ScriptRequest {
  readonly script: string;
  readonly shell?: string;
  /** Relative paths are taken from the workspace. */
  readonly workingDirectory?: string;
  readonly env: Readonly<Record<string, string>>;
}

/** How the script ended; `message` explains a failure in words. */
export interface ScriptResult {
  readonly ok: boolean;
  readonly aborted: boolean;
  readonly message?: string;
}

/**
 * Writes the script to a file in the job's runner directory and runs it with its shell, as
 * GitHub does (`bash -e {0}` by default). Output goes to `output`; the process tree ends
 * when `signal` is aborted. A job's steps run one at a time, each after the last one's
 * process has exited, so they share one file per extension, rewritten in place (cheaper than
 * a new file per step).
 */
export async function runScript(
  executor: Executor,
  request: ScriptRequest,
  output: StepOutput,
  signal: AbortSignal,
): Promise<ScriptResult> {
  const base = join(executor.paths.files, "step-script");
  const shell = resolveShell(request.shell, `${base}${extensionPlaceholder}`);
  const path = `${base}${shell.extension}`;
  const argv = shell.argv.map((a) => a.replaceAll(`${base}${extensionPlaceholder}`, path));
  rewriteFileSync(path, request.script);
  const cwd = request.workingDirectory
    ? isAbsolute(request.workingDirectory)
      ? request.workingDirectory
      : join(executor.paths.workspace, request.workingDirectory)
    : executor.paths.workspace;
  let result: Awaited<ReturnType<Executor["exec"]>>;
  try {
    result = await executor.exec({ argv, env: request.env, cwd }, output, signal);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === "ENOENT"
        ? `cannot start '${argv[0]}': not found (or working directory '${cwd}' does not exist)`
        : `cannot start '${argv[0]}': ${(err as Error).message}`;
    return { ok: false, aborted: false, message };
  } finally {
    output.flush();
  }
  if (result.aborted) return { ok: false, aborted: true, message: "the step was ended" };
  if (result.exitCode === 0) return { ok: true, aborted: false };
  if (result.exitCode === null) {
    return { ok: false, aborted: false, message: `Process was killed by ${result.signal}.` };
  }
  return {
    ok: false,
    aborted: false,
    message: `Process completed with exit code ${result.exitCode}.`,
  };
}

/** Stands in for the extension until the shell (which decides it) is known. */
const extensionPlaceholder = ".script";
