import type { ServerProcess } from "./server-process.js";

/** Calls a server process's API with its admin token: JSON in and out, undefined for 204. */
export function serverApi(server: () => ServerProcess) {
  return async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const s = server();
    const response = await fetch(`${s.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${s.token}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (response.status >= 500) throw new Error(`${method} ${path}: ${response.status}`);
    return response.status === 204 ? undefined : response.json();
  };
}

/**
 * Polls `probe` every 100 ms until it returns something (a probe that throws counts as not
 * yet: the server may be restarting), or fails after `tries` with what it waited for.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  tries = 900,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A server API caller, as {@link serverApi} makes it. */
export type ServerApi = ReturnType<typeof serverApi>;

/** A finished run as the API shows it, with each job's log by the job's name. */
export interface FinishedRun {
  readonly id: string;
  readonly status: string;
  readonly logs: Record<string, string[]>;
}

/**
 * Waits until `repo` has `count` runs and the newest has ended, then reads its jobs' logs
 * (every line, by job name).
 */
export async function finishedRun(api: ServerApi, repo: string, count = 1): Promise<FinishedRun> {
  const run = await waitFor(`run #${count} of ${repo} to end`, async () => {
    const runs = (await api("GET", `/api/v1/repositories/${repo}/runs`)) as {
      id: string;
      status: string;
    }[];
    const [newest] = runs;
    return runs.length === count && newest && !["queued", "in_progress"].includes(newest.status)
      ? newest
      : undefined;
  });
  const shown = (await api("GET", `/api/v1/runs/${run.id}`)) as {
    jobs: { id: string; name: string }[];
  };
  const logs: Record<string, string[]> = {};
  for (const job of shown.jobs) {
    logs[job.name] = (
      (await api("GET", `/api/v1/jobs/${job.id}/logs`)) as { lines: string[] }
    ).lines;
  }
  return { id: run.id, status: run.status, logs };
}
