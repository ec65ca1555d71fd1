import { stripVTControlCharacters } from "node:util";
import { InputError } from "../common/errors.js";
import type { ApiClient } from "./api-client.js";
import { forEachLogLine } from "./job-log.js";
import type { Output, Palette } from "./terminal.js";

/** A run as the API returns it. */
export interface ApiRun {
  id: string;
  number: number;
  attempt: number;
  workflow: string;
  event: string;
  ref: string;
  sha: string;
  status: string;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  jobs?: ApiJob[];
  /** For a workflow file that does not parse: every problem. */
  problems?: string[];
}

/** A job as the API returns it. */
export interface ApiJob {
  id: string;
  key: string;
  name: string;
  status: string;
  reason: string | null;
  startedAt: number | null;
  finishedAt: number | null;
}

const FINISHED = new Set(["success", "failure", "cancelled", "skipped"]);

/** A run named `repo#number` or by its id, with its jobs. */
export async function fetchRun(api: ApiClient, ref: string, attempt?: number): Promise<ApiRun> {
  const query = attempt ? `?attempt=${attempt}` : "";
  const hash = ref.lastIndexOf("#");
  if (hash > 0) {
    const repo = ref.slice(0, hash);
    const number = ref.slice(hash + 1);
    if (!/^[1-9]\d*$/.test(number))
      throw new InputError(`run '${ref}': expected REPO#NUMBER (like app#12) or a run id`);
    return api.request<ApiRun>(
      "GET",
      `/api/v1/repositories/${encodeURIComponent(repo)}/runs/${number}${query}`,
    );
  }
  return api.request<ApiRun>("GET", `/api/v1/runs/${encodeURIComponent(ref)}${query}`);
}

/** `trunkline runs list REPO`: newest first. */
export async function runsList(
  api: ApiClient,
  io: Output,
  repo: string,
  opts: { status?: string; limit?: number; json?: boolean },
): Promise<number> {
  const params = new URLSearchParams();
  if (opts.status) params.set("status", opts.status);
  if (opts.limit) params.set("limit", String(opts.limit));
  const query = params.size > 0 ? `?${params}` : "";
  const runs = await api.request<ApiRun[]>(
    "GET",
    `/api/v1/repositories/${encodeURIComponent(repo)}/runs${query}`,
  );
  if (opts.json) {
    io.out(JSON.stringify(runs, null, 2));
    return 0;
  }
  if (runs.length === 0) {
    io.err(`trunkline: ${repo} has no runs yet`);
    return 0;
  }
  const c = io.colors;
  const rows = runs.map((r) => [
    `#${r.number}`,
    statusText(c, r.status),
    r.workflow,
    r.event,
    shortRef(r.ref),
    r.sha.slice(0, 7),
    duration(r.startedAt, r.finishedAt),
    r.attempt > 1 ? `attempt ${r.attempt}` : "",
  ]);
  for (const line of table(rows)) io.out(line);
  return 0;
}

/** `trunkline runs show RUN`: the run and its jobs. */
export async function runsShow(
  api: ApiClient,
  io: Output,
  ref: string,
  opts: { attempt?: number; json?: boolean },
): Promise<number> {
  let run = await fetchRun(api, ref);
  if (opts.attempt !== undefined && opts.attempt > run.attempt)
    throw new InputError(
      `--attempt ${opts.attempt}: ${run.workflow} #${run.number} has ${run.attempt === 1 ? "attempt 1 only" : `attempts 1 to ${run.attempt}`}`,
    );
  if (opts.attempt !== undefined && opts.attempt < run.attempt)
    run = await fetchRun(api, run.id, opts.attempt);
  if (opts.json) {
    io.out(JSON.stringify(run, null, 2));
    return 0;
  }
  const c = io.colors;
  io.out(
    `${c.bold(`${run.workflow} #${run.number}`)}${run.attempt > 1 ? ` (attempt ${run.attempt})` : ""}  ${statusText(c, run.status)}`,
  );
  io.out(
    c.dim(
      `${run.event} on ${shortRef(run.ref)} at ${run.sha.slice(0, 7)}, ${duration(run.startedAt, run.finishedAt)}  id ${run.id}`,
    ),
  );
  io.out("");
  if (run.problems && run.problems.length > 0) {
    io.out(c.red("Invalid workflow file: the run failed before any job:"));
    for (const problem of run.problems) io.out(`  ${c.red(problem)}`);
    return 0;
  }
  const rows = (run.jobs ?? []).map((j) => [
    statusText(c, j.status),
    jobKey(j.key),
    duration(j.startedAt, j.finishedAt),
    j.reason ? c.dim(j.reason) : "",
  ]);
  for (const line of table(rows)) io.out(line);
  return 0;
}

/**
 * `trunkline runs logs RUN`: every job's log; with `follow`, streams them live (Server-Sent
 * Events, resuming after a dropped connection) until the run ends, then exits 0 only when
 * the run succeeded.
 */
export async function runsLogs(
  api: ApiClient,
  io: Output,
  ref: string,
  opts: { job?: string; follow?: boolean },
): Promise<number> {
  const wanted = (j: ApiJob) => !opts.job || jobKey(j.key) === opts.job || j.name === opts.job;
  let run = await fetchRun(api, ref);
  if (opts.job && !(run.jobs ?? []).some(wanted) && FINISHED.has(run.status))
    throw new InputError(
      `--job ${opts.job}: run #${run.number} has no such job (it has ${(run.jobs ?? []).map((j) => jobKey(j.key)).join(", ") || "none"})`,
    );
  if (!opts.follow) {
    for (const job of (run.jobs ?? []).filter(wanted)) {
      io.out(io.colors.bold(`── ${jobKey(job.key)} (${job.status}) ──`));
      await forEachLogLine(api, job.id, (line) => io.out(line));
    }
    return 0;
  }
  const streams = new Map<string, Promise<void>>();
  const c = io.colors;
  const follow = (job: ApiJob) => {
    if (streams.has(job.id)) return;
    const prefix = c.cyan(`[${jobKey(job.key)}]`);
    streams.set(
      job.id,
      api.stream(`/api/v1/jobs/${job.id}/logs/stream`, (event) => {
        if (event.event === "message") io.out(`${prefix} ${event.data}`);
        else if (event.event === "end")
          io.out(
            `${prefix} ${statusText(c, (JSON.parse(event.data) as { status: string }).status)}`,
          );
      }),
    );
  };
  // Jobs appear as the run reaches them: look again until the run has finished.
  for (;;) {
    for (const job of (run.jobs ?? []).filter(wanted)) follow(job);
    if (FINISHED.has(run.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
    run = await fetchRun(api, run.id);
  }
  await Promise.all(streams.values());
  io.out("");
  io.out(`Run #${run.number} ${statusText(c, run.status)}`);
  return run.status === "success" ? 0 : 1;
}

/** `trunkline runs cancel RUN`. */
export async function runsCancel(api: ApiClient, io: Output, ref: string): Promise<number> {
  const run = await fetchRun(api, ref);
  await api.request("POST", `/api/v1/runs/${run.id}/cancel`);
  io.err(`trunkline: cancelling ${run.workflow} #${run.number}`);
  return 0;
}

/** `trunkline runs rerun RUN [--failed]`: a new attempt of the run. */
export async function runsRerun(
  api: ApiClient,
  io: Output,
  ref: string,
  opts: { failed?: boolean },
): Promise<number> {
  const run = await fetchRun(api, ref);
  const { attempt } = await api.request<{ attempt: number }>(
    "POST",
    `/api/v1/runs/${run.id}/rerun`,
    { failedOnly: opts.failed === true },
  );
  io.err(
    `trunkline: ${run.workflow} #${run.number} is running again (attempt ${attempt}${opts.failed ? ", failed jobs and their dependants" : ""})`,
  );
  return 0;
}

/** A status with its colour and symbol. */
export function statusText(c: Palette, status: string): string {
  switch (status) {
    case "success":
      return c.green("✓ success");
    case "failure":
      return c.red("✗ failure");
    case "cancelled":
      return c.yellow("⊘ cancelled");
    case "skipped":
      return c.dim("- skipped");
    case "in_progress":
      return c.cyan("● running");
    case "waiting":
      return c.yellow("⏸ waiting");
    default:
      return c.dim(`○ ${status}`);
  }
}

/** `file / key` without the file. */
function jobKey(key: string): string {
  const at = key.indexOf(" / ");
  return at === -1 ? key : key.slice(at + 3);
}

function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, "");
}

function duration(start: number | null, end: number | null): string {
  if (start === null) return "-";
  const ms = (end ?? Date.now()) - start;
  return ms < 1000
    ? `${ms}ms`
    : ms < 60_000
      ? `${(ms / 1000).toFixed(1)}s`
      : `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** Rows padded into columns (colour codes do not count towards widths). */
export function table(rows: readonly (readonly string[])[]): string[] {
  const visible = (s: string) => stripVTControlCharacters(s).length;
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visible(cell));
    });
  return rows.map((row) =>
    row
      .map((cell, i) =>
        i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - visible(cell)),
      )
      .join("  ")
      .trimEnd(),
  );
}
