import { closeSync, constants, fstatSync, ftruncateSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { rewriteFileSync } from "../executors/rewrite-file.js";
import { parseKeyValueFile, parsePathFile } from "./file-command.js";

/** The environment files of one step, created empty before it runs. */
export interface StepFiles {
  readonly GITHUB_ENV: string;
  readonly GITHUB_OUTPUT: string;
  readonly GITHUB_PATH: string;
  readonly GITHUB_STATE: string;
  readonly GITHUB_STEP_SUMMARY: string;
}

/** What a step wrote to its environment files. */
export interface StepFileResults {
  readonly env: [string, string][];
  readonly outputs: [string, string][];
  readonly state: [string, string][];
  readonly path: string[];
  readonly summary: string;
  /** Problems reading the files (a heredoc without its delimiter, ...); each fails the step. */
  readonly errors: string[];
}

/** GitHub's limit on one step's summary. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024;

/**
 * Creates the empty environment files of a job's steps in `dir` (steps run one at a time and
 * share them; {@link readStepFiles} empties them after each step). The names are fixed, so a
 * job directory that serves the next job reuses the files (emptied here) rather than making
 * new ones. Synchronous on purpose: five tiny files cost less than five trips through the
 * thread pool.
 */
export function createStepFiles(dir: string): StepFiles {
  const files = {
    GITHUB_ENV: join(dir, "set_env"),
    GITHUB_OUTPUT: join(dir, "set_output"),
    GITHUB_PATH: join(dir, "add_path"),
    GITHUB_STATE: join(dir, "save_state"),
    GITHUB_STEP_SUMMARY: join(dir, "step_summary"),
  };
  for (const f of Object.values(files)) rewriteFileSync(f, "");
  return files;
}

/** Reads what the step wrote to its files, and empties them, with the runner's parsing rules. */
export function readStepFiles(files: StepFiles): StepFileResults {
  const errors: string[] = [];
  // The files are shared by the steps of a job: what a step wrote is read, then emptied for
  // the next one. Most steps write nothing, which costs one stat per file. A step may have
  // put a link in a file's place (to a file only the runner may read, when the job runs as
  // another user): only a regular file of one name is read and emptied, never followed.
  const read = (path: string) => {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return "";
    }
    try {
      const info = fstatSync(fd);
      if (!info.isFile() || info.nlink !== 1 || info.size === 0) return "";
      const text = readFileSync(fd, "utf8");
      ftruncateSync(fd);
      return text;
    } catch {
      return "";
    } finally {
      closeSync(fd);
    }
  };
  const pairs = (name: keyof StepFiles) => {
    // As the runner does, what was read before an error still applies.
    const parsed = parseKeyValueFile(read(files[name]));
    if (parsed.error !== undefined) errors.push(`${name}: ${parsed.error}`);
    return parsed.pairs;
  };
  const summary = read(files.GITHUB_STEP_SUMMARY);
  if (Buffer.byteLength(summary) > SUMMARY_LIMIT_BYTES) {
    errors.push(
      `$GITHUB_STEP_SUMMARY supports content up to a size of 1024k, got ${Math.ceil(Buffer.byteLength(summary) / 1024)}k`,
    );
  }
  return {
    env: pairs("GITHUB_ENV"),
    outputs: pairs("GITHUB_OUTPUT"),
    state: pairs("GITHUB_STATE"),
    path: parsePathFile(read(files.GITHUB_PATH)),
    summary: Buffer.byteLength(summary) > SUMMARY_LIMIT_BYTES ? "" : summary,
    errors,
  };
}
