import { mkdtemp, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { InputError } from "../common/errors.js";
import { artifactNameProblem } from "../runner/actions/builtin/artifact-store.js";
import { extractZip } from "../runner/actions/builtin/zip-archive.js";
import type { ApiClient } from "./api-client.js";
import { fetchRun, table } from "./runs-commands.js";
import type { Output } from "./terminal.js";

/** An artifact as `GET /api/v1/runs/{id}/artifacts` lists it. */
interface ApiArtifact {
  readonly id: number;
  readonly name: string;
  readonly size_in_bytes: number;
  readonly digest?: string;
  readonly created_at: string;
  readonly expires_at: string;
}

async function artifactsOf(api: ApiClient, runId: string): Promise<ApiArtifact[]> {
  return (await api.request<{ artifacts: ApiArtifact[] }>("GET", `/api/v1/runs/${runId}/artifacts`))
    .artifacts;
}

/** `trunkline runs artifacts RUN [--json]`: the run's artifacts, as the API lists them. */
export async function runsArtifacts(
  api: ApiClient,
  io: Output,
  ref: string,
  opts: { json?: boolean },
): Promise<number> {
  const run = await fetchRun(api, ref);
  const artifacts = await artifactsOf(api, run.id);
  if (opts.json) {
    io.out(JSON.stringify(artifacts, null, 2));
    return 0;
  }
  if (artifacts.length === 0) {
    io.err(`trunkline: ${run.workflow} #${run.number} has no artifacts`);
    return 0;
  }
  const rows = artifacts.map((a) => [
    a.name,
    `${a.size_in_bytes} bytes`,
    io.colors.dim(a.created_at),
  ]);
  for (const line of table(rows)) io.out(line);
  return 0;
}

/**
 * `trunkline runs download RUN [--name NAME...] [--dir DIR]`, as `gh run download`: each
 * artifact (or those named) is extracted into `DIR/<name>`, or a single named one into DIR
 * itself; extraction refuses entries that would land outside.
 */
export async function runsDownload(
  api: ApiClient,
  io: Output,
  ref: string,
  opts: { name?: string[]; dir?: string },
): Promise<number> {
  const run = await fetchRun(api, ref);
  const all = await artifactsOf(api, run.id);
  const names = opts.name ?? [];
  for (const name of names) {
    const problem = artifactNameProblem(name);
    if (problem) throw new InputError(`--name ${name}: ${problem}`);
    if (!all.some((a) => a.name === name)) {
      throw new InputError(
        `--name ${name}: ${run.workflow} #${run.number} has no such artifact (it has ${all.map((a) => a.name).join(", ") || "none"})`,
      );
    }
  }
  const chosen = names.length > 0 ? all.filter((a) => names.includes(a.name)) : all;
  if (chosen.length === 0) {
    io.err(`trunkline: ${run.workflow} #${run.number} has no artifacts`);
    return 0;
  }
  const root = resolve(opts.dir ?? ".");
  const scratch = await mkdtemp(join(root, ".trunkline-download-"));
  try {
    for (const artifact of chosen) {
      const zip = join(scratch, `${artifact.id}.zip`);
      await api.download(`/api/v1/runs/${run.id}/artifacts/${artifact.id}/zip`, zip);
      // `.` and `..` are valid names, but not folders of their own.
      const into =
        names.length === 1 || artifact.name === "." || artifact.name === ".."
          ? root
          : join(root, artifact.name);
      const count = await extractZip(zip, into, { label: `artifact '${artifact.name}'` });
      io.err(`trunkline: ${artifact.name}: ${count} file(s) in ${into}`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return 0;
}
