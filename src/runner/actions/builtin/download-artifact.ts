import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ActionContext, ActionRequest, ActionResult } from "../action-host.js";
import { type ArtifactRecord, artifactNameProblem } from "./artifact-store.js";
import type { BuiltinAction, BuiltinEnvironment } from "./builtin-action.js";
import { booleanInput, failure, guarded, resolveInputPath, stringInput } from "./builtin-inputs.js";
import { extractArchive } from "./extract-archive.js";
import { compileNamePattern } from "./glob-pattern.js";
import { LocalArtifacts } from "./run-artifacts.js";
import { sha256File } from "./upload-artifact.js";
import { extractZip } from "./zip-archive.js";

/**
 * `actions/download-artifact` (v4) from the run's {@link RunArtifacts}. Inputs: `name` (one
 * artifact, extracted into `path` itself), or without it every artifact (filtered by the
 * `pattern` glob), each into `<path>/<name>/`, or all into `path` with `merge-multiple`;
 * `path` defaults to the workspace (relative paths are taken from it, `~` is HOME). Output
 * `download-path`. Archives (tar, or zip as the artifact service stores them) are extracted
 * with {@link extractArchive}'s refusals, so a tampered store cannot write outside the
 * destination. Other runs and repositories
 * (`run-id`, `repository`, `artifact-ids`) need GitHub and are refused.
 */
export const DOWNLOAD_ARTIFACT: BuiltinAction = {
  name: "actions/download-artifact",
  run: (request, context, env) => guarded(context.signal, () => download(request, context, env)),
};

async function download(
  request: ActionRequest,
  context: ActionContext,
  env: BuiltinEnvironment,
): Promise<ActionResult> {
  const inputs = request.with;
  const output = context.output;
  const name = stringInput(inputs, "name");
  const pattern = stringInput(inputs, "pattern");
  const merge = booleanInput(inputs, "merge-multiple", false);
  const elsewhere = otherSource(inputs, context);
  if (elsewhere) return failure(elsewhere);
  const destination = resolveInputPath(
    stringInput(inputs, "path", "."),
    context.state.paths.workspace,
    request.env.HOME,
  );
  const store = env.artifacts ?? new LocalArtifacts(env.artifactDir);

  let targets: { record: ArtifactRecord; dir: string }[];
  if (name) {
    const problem = artifactNameProblem(name);
    if (problem) return failure(problem);
    const record = await store.get(name);
    if (!record) {
      return failure(`Unable to download artifact(s): Artifact not found for name: ${name}`);
    }
    targets = [{ record, dir: destination }];
  } else {
    let records = await store.list();
    if (pattern) {
      output.note(`Filtering artifacts by pattern '${pattern}'`);
      const matches = compileNamePattern(pattern);
      records = records.filter((r) => matches(r.name));
    }
    if (records.length === 0) output.note("No artifacts found to download");
    if (!merge) {
      // `.` and `..` are valid artifact names, but not folders of their own.
      const unfit = records.find((r) => r.name === "." || r.name === "..");
      if (unfit) {
        return failure(
          `artifact '${unfit.name}' cannot be downloaded into a folder of its own name: use 'name' or 'merge-multiple: true'`,
        );
      }
    }
    targets = records.map((record) => ({
      record,
      dir: merge ? destination : join(destination, record.name),
    }));
  }

  for (const { record, dir } of targets) {
    const opened = await store.open(record);
    let count: number;
    try {
      const archive = opened.path;
      if (!existsSync(archive)) {
        return failure(`Unable to download artifact '${record.name}': its archive is missing`);
      }
      if (record.digest !== "" && (await sha256File(archive)) !== record.digest) {
        output.annotate({
          level: "warning",
          message: `Artifact '${record.name}' digest validation failed. Please verify the integrity of the artifact.`,
        });
      }
      const extract = record.format === "zip" ? extractZip : extractArchive;
      count = await extract(archive, dir, {
        label: `artifact '${record.name}'`,
        signal: context.signal,
      });
    } finally {
      await opened.release();
    }
    output.note(
      `Artifact '${record.name}' (ID ${record.id}, ${count} entries) downloaded to ${dir}`,
    );
  }
  output.note(`Total of ${targets.length} artifact(s) downloaded`);
  return { ok: true, outputs: { "download-path": destination } };
}

/** Why the inputs ask for another run's or repository's artifacts, or undefined. */
function otherSource(
  inputs: Readonly<Record<string, string>>,
  context: ActionContext,
): string | undefined {
  const github = context.state.spec.contexts.github;
  if (stringInput(inputs, "artifact-ids")) {
    return "artifact-ids is not supported when running locally: use 'name' or 'pattern'";
  }
  const runId = stringInput(inputs, "run-id");
  if (runId && runId !== String(github.run_id ?? "") && runId !== context.state.spec.runId) {
    return `artifacts of another run (run-id ${runId}) cannot be downloaded locally: only this run's artifacts are available`;
  }
  const repository = stringInput(inputs, "repository");
  if (repository && repository.toLowerCase() !== String(github.repository ?? "").toLowerCase()) {
    return `artifacts of another repository (${repository}) cannot be downloaded locally`;
  }
  return undefined;
}
