import { createHash, randomUUID } from "node:crypto";
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { ReadWorkflowResult } from "../workflow/read-workflow.js";

declare const __TRUNKLINE_BUILD__: string | undefined;

/**
 * The build's identity (a hash of its sources and locked dependencies, set by the bundler),
 * or undefined when running from sources: a cache entry is only ever read by the build that
 * wrote it, so a change to the parser, the model or the checks never meets a stale entry.
 */
const BUILD: string | undefined =
  typeof __TRUNKLINE_BUILD__ === "string" ? __TRUNKLINE_BUILD__ : undefined;

/** Entries kept; the least recently written beyond this are removed when one is added. */
const KEEP = 256;

/** Where read workflows are kept: `$XDG_CACHE_HOME/trunkline/workflows`. */
export function workflowCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "trunkline", "workflows");
}

/**
 * Reads a workflow file as `readWorkflow` does, through a cache of results by file name and
 * content: a workflow unchanged since it was last read (by this build) is not parsed again,
 * and the parser (with its schema, the largest part of reading) is not even loaded. The model
 * and diagnostics are plain data, so an entry is their JSON. Without a build identity
 * (running from sources) or with `dir` undefined, every read parses. A cache that cannot be
 * read or written is passed by, never an error.
 */
export async function readWorkflowCached(
  name: string,
  content: string,
  dir: string | undefined = BUILD ? workflowCacheDir() : undefined,
  build: string | undefined = BUILD,
): Promise<ReadWorkflowResult> {
  const key =
    dir && build
      ? createHash("sha256").update(`${build}\0${name}\0${content}`).digest("hex").slice(0, 40)
      : undefined;
  if (dir && key) {
    try {
      const entry = JSON.parse(readFileSync(join(dir, `${key}.json`), "utf8")) as unknown;
      if (isResult(entry)) return entry;
    } catch {
      // Not there (or unreadable): parsed below.
    }
  }
  const { readWorkflow } = await import("../workflow/read-workflow.js");
  const result = await readWorkflow(name, content);
  if (dir && key) store(dir, key, result);
  return result;
}

/** Whether a cache entry has the shape of a result (a damaged one is read afresh). */
function isResult(entry: unknown): entry is ReadWorkflowResult {
  if (typeof entry !== "object" || entry === null) return false;
  const { workflow, diagnostics } = entry as Record<string, unknown>;
  return (
    Array.isArray(diagnostics) &&
    (workflow === undefined || (typeof workflow === "object" && workflow !== null))
  );
}

/**
 * The result as JSON, or undefined when JSON would not give it back as it is: a number JSON
 * cannot write (`.inf`, `.nan`, `-0` in a file) or a hole in a list. Such a file is parsed
 * every time rather than cached wrong.
 */
function exactJson(result: ReadWorkflowResult): string | undefined {
  let exact = true;
  const json = JSON.stringify(result, (_key, value: unknown) => {
    if (typeof value === "number" && (!Number.isFinite(value) || Object.is(value, -0))) {
      exact = false;
    } else if (Array.isArray(value) && value.includes(undefined)) exact = false;
    return value;
  });
  return exact ? json : undefined;
}

function store(dir: string, key: string, result: ReadWorkflowResult): void {
  const json = exactJson(result);
  if (json === undefined) return;
  try {
    mkdirSync(dir, { recursive: true });
    const partial = join(dir, `.${key}-${randomUUID()}`);
    writeFileSync(partial, json);
    renameSync(partial, join(dir, `${key}.json`));
    const entries = readdirSync(dir);
    if (entries.length <= KEEP) return;
    const byAge = entries
      .map((e) => ({ path: join(dir, e), at: statSync(join(dir, e)).mtimeMs }))
      .sort((a, b) => a.at - b.at);
    for (const old of byAge.slice(0, byAge.length - KEEP)) rmSync(old.path, { force: true });
  } catch {
    // A cache that cannot be written only costs the next read its parse.
  }
}
