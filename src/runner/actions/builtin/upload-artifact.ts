import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname, relative } from "node:path";
import type { ActionContext, ActionRequest, ActionResult } from "../action-host.js";
import { artifactNameProblem, artifactPathProblem } from "./artifact-store.js";
import type { BuiltinAction, BuiltinEnvironment } from "./builtin-action.js";
import { booleanInput, failure, guarded, inputLines, stringInput } from "./builtin-inputs.js";
import { type FoundFiles, findFiles, isWithin } from "./find-files.js";
import { parseGlobPatterns, pathSegments } from "./glob-pattern.js";
import { LocalArtifacts, type RunArtifacts } from "./run-artifacts.js";
import { createZip } from "./zip-archive.js";

/** GitHub's default and longest retention, in days. */
const MAX_RETENTION_DAYS = 90;

/**
 * `actions/upload-artifact` (v4) into the run's {@link RunArtifacts}, as a zip archive as
 * GitHub's. Inputs: `name`
 * (`artifact`), `path` (required; patterns relative to the workspace, `!` excludes, a directory
 * means everything below it), `if-no-files-found` (`warn` | `error` | `ignore`),
 * `retention-days` (recorded), `compression-level` (deflate 0-9, default 6), `overwrite`
 * (false), `include-hidden-files` (false). Paths in the artifact are relative to the least
 * common ancestor of the patterns' search paths (a single file: its directory), as the real
 * action does. Links are followed; a pattern or link that leads outside the workspace is
 * refused. Outputs `artifact-id`, `artifact-url` (a file URL), `artifact-digest` (SHA-256).
 */
export const UPLOAD_ARTIFACT: BuiltinAction = {
  name: "actions/upload-artifact",
  run: (request, context, env) => guarded(context.signal, () => upload(request, context, env)),
};

async function upload(
  request: ActionRequest,
  context: ActionContext,
  env: BuiltinEnvironment,
): Promise<ActionResult> {
  const inputs = request.with;
  const output = context.output;
  // The default applies only when the input is absent; an explicit empty name is an error.
  const name = inputs.name === undefined ? "artifact" : inputs.name.trim();
  const nameProblem = artifactNameProblem(name);
  if (nameProblem) return failure(nameProblem);
  const lines = inputLines(inputs.path);
  if (lines.length === 0) return failure("Input required and not supplied: path");
  const ifNoFilesFound = stringInput(inputs, "if-no-files-found", "warn");
  if (!["warn", "error", "ignore"].includes(ifNoFilesFound)) {
    return failure(
      `Unrecognized if-no-files-found input. Provided: ${ifNoFilesFound}. Available options: warn, error, ignore`,
    );
  }
  const retention = retentionDays(stringInput(inputs, "retention-days"), context);
  if (typeof retention === "string") return failure(retention);
  const level = stringInput(inputs, "compression-level", "6");
  const zipLevel = Number.parseInt(level, 10);
  if (Number.isNaN(zipLevel) || zipLevel < 0 || zipLevel > 9) {
    return failure(`Invalid compression-level: ${level}. Valid values are 0-9`);
  }
  const overwrite = booleanInput(inputs, "overwrite", false);
  const includeHidden = booleanInput(inputs, "include-hidden-files", false);

  const workspace = context.state.paths.workspace;
  const patterns = parseGlobPatterns(lines, workspace, request.env.HOME);
  for (const pattern of patterns) {
    if (!pattern.negate && !isWithin(workspace, pattern.searchPath)) {
      return failure(
        `path '${pattern.source}' leads to '${pattern.searchPath}', outside the workspace: only files in the workspace can be uploaded`,
      );
    }
  }
  const found = await findFiles(patterns, {
    followSymlinks: true,
    includeHidden,
    boundary: { path: workspace, label: "the workspace" },
    signal: context.signal,
  });
  for (const note of found.notes) output.note(note);
  if (found.files.length === 0) {
    const message = `No files were found with the provided path: ${lines.join(", ")}. No artifacts will be uploaded.`;
    if (ifNoFilesFound === "error") return failure(message);
    if (ifNoFilesFound === "warn") output.annotate({ level: "warning", message });
    else output.note(message);
    return { ok: true, outputs: {} };
  }

  const root = artifactRoot(found);
  const paths = found.files.map((f) => relative(root, f.path));
  for (const path of paths) {
    const problem = artifactPathProblem(path);
    if (problem) return failure(problem);
  }
  output.note(`With the provided path, there will be ${paths.length} file(s) uploaded`);
  output.note(`Root directory of the artifact: ${root}`);

  const store = env.artifacts ?? new LocalArtifacts(env.artifactDir);
  await store.checkFree(name, overwrite);
  const temporary = await store.temporaryPath();
  await createZip(temporary, root, paths, zipLevel);
  const digest = await sha256File(temporary);
  const size = (await stat(temporary)).size;
  const now = new Date();
  const record = await store.add(
    temporary,
    {
      name,
      digest,
      size,
      files: paths.length,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + retention * 86_400_000).toISOString(),
    },
    overwrite,
  );
  output.note(
    `Artifact ${name} has been successfully uploaded! Final size is ${size} bytes. Artifact ID is ${record.id}`,
  );
  output.note(`Artifact ${name} SHA256 digest: ${digest}`);
  return {
    ok: true,
    outputs: {
      "artifact-id": String(record.id),
      "artifact-url": store.url(record),
      "artifact-digest": digest,
    },
  };
}

/**
 * The artifact's root, as upload-artifact computes it: the least common ancestor of the
 * search paths when there are several; a lone file named without wildcards is stored under
 * its own name; otherwise the one search path.
 */
export function artifactRoot(found: FoundFiles): string {
  const [first, ...rest] = found.searchPaths;
  if (first === undefined) return "/";
  if (rest.length === 0) {
    const only = found.files[0];
    return found.files.length === 1 && only?.path === first ? dirname(first) : first;
  }
  const common = pathSegments(first);
  for (const path of rest) {
    const segments = pathSegments(path);
    let n = 0;
    while (n < common.length && common[n] === segments[n]) n++;
    common.length = n;
  }
  return `/${common.join("/")}`;
}

function retentionDays(text: string, context: ActionContext): number | string {
  if (text === "") return MAX_RETENTION_DAYS;
  const days = Number.parseInt(text, 10);
  if (Number.isNaN(days)) return `Invalid retention-days: ${text}`;
  if (days < 1) return "Invalid retention, minimum value is 1.";
  if (days > MAX_RETENTION_DAYS) {
    context.output.annotate({
      level: "warning",
      message: `Retention days cannot be greater than the maximum allowed retention set within the repository. Using ${MAX_RETENTION_DAYS} instead.`,
    });
    return MAX_RETENTION_DAYS;
  }
  return days;
}

/** The SHA-256 of a file's content, in hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
