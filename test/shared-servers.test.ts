import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { startAgent } from "./helpers/agent-process.js";
import { postgresAvailable, postgresDatabase, type TestDatabase } from "./helpers/databases.js";
import { committed, git } from "./helpers/git.js";
import { serverApi, waitFor } from "./helpers/server-api.js";
import { type ServerProcess, startServerProcess } from "./helpers/server-process.js";

// Two `trunkline serve` processes on one Postgres database and one data directory, and an
// agent that talks to the second only. Runs started on the first have their jobs taken by
// the agent through the second: their events and results must reach the first; a cancel
// asked of the second must reach the run on the first; and when the first is killed, the
// second must carry its run on, without losing or repeating a log line.

const postgres = await postgresAvailable();
const children: ChildProcess[] = [];
const dirs: string[] = [];
let database: TestDatabase | undefined;
afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await database?.drop();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

interface Run {
  id: string;
  status: string;
  jobs: { id: string; key: string; status: string; reason: string | null }[];
}

describe.runIf(postgres)("server processes sharing one Postgres database", () => {
  test("an agent of one serves the other's runs: events, results, cancels and a take-over after kill -9", async () => {
    database = await postgresDatabase();
    const url = database.options.url as string;
    const dataDir = tempDir("trunkline-shared-");
    // The agent's job must keep its lease while the second server takes the first's run
    // over: the lease is set well beyond a take-over, so a busy machine cannot lose it.
    const start = () =>
      startServerProcess({
        dataDir,
        database: url,
        extraArgs: ["--runner-capacity", "0", "--lease-timeout", "120"],
      });
    const first: ServerProcess = await start();
    children.push(first.child);
    const second: ServerProcess = await start();
    children.push(second.child);
    const onFirst = serverApi(() => first);
    const onSecond = serverApi(() => second);
    type Server = { pid: number; self: boolean; runs: number };
    const servers = async () => (await onSecond("GET", "/api/v1/servers")) as Server[];
    expect((await servers()).map((s) => [s.pid, s.self])).toEqual([
      [first.child.pid, false],
      [second.child.pid, true],
    ]);
    await onFirst("POST", "/api/v1/repositories", { name: "app" });
    const { dir: work } = await committed(
      {
        ".github/workflows/ci.yml": [
          "name: CI",
          "on: push",
          "jobs:",
          "  build:",
          "    runs-on: linux",
          "    outputs: { version: '${{ steps.v.outputs.version }}' }",
          "    steps:",
          "      - run: for i in 1 2 3 4 5; do echo build line $i; done",
          "      - id: v",
          '        run: echo "version=1.2.$((40 + 2))" >> "$GITHUB_OUTPUT"',
          "  deploy:",
          "    needs: build",
          "    runs-on: linux",
          "    steps:",
          '      - run: echo "deploying ${{ needs.build.outputs.version }}"',
          "",
        ].join("\n"),
        ".github/workflows/slow.yml": [
          "name: Slow",
          "on: workflow_dispatch",
          "jobs:",
          "  wait:",
          "    runs-on: linux",
          "    steps: [{ run: echo started && sleep 60 }]",
          "",
        ].join("\n"),
        ".github/workflows/steady.yml": [
          "name: Steady",
          "on: workflow_dispatch",
          "jobs:",
          "  count:",
          "    runs-on: linux",
          "    steps:",
          "      - run: for i in $(seq 1 12); do echo count $i; sleep 0.5; done",
          "  after:",
          "    needs: count",
          "    runs-on: linux",
          "    steps: [{ run: echo after the count }]",
          "",
        ].join("\n"),
      },
      "ci",
    );
    children.push(await startAgent(second, "linux", tempDir("trunkline-shared-agent-")));

    // A push to the first: both jobs run on the second's agent, and the run ends there.
    await git(work, "push", "-q", first.gitUrl("app"), "main");
    const ci = await waitFor("the pushed run", async () => {
      const [run] = (await onFirst("GET", "/api/v1/repositories/app/runs")) as Run[];
      return run && ["success", "failure", "cancelled"].includes(run.status) ? run : undefined;
    });
    expect(ci.status).toBe("success");
    const shown = (await onSecond("GET", `/api/v1/runs/${ci.id}`)) as Run;
    expect(shown.jobs.map((j) => [j.key, j.status])).toEqual([
      [".github/workflows/ci.yml / build", "success"],
      [".github/workflows/ci.yml / deploy", "success"],
    ]);
    const lines = async (jobId: string) =>
      ((await onFirst("GET", `/api/v1/jobs/${jobId}/logs`)) as { lines: string[] }).lines;
    const build = await lines(shown.jobs[0]?.id as string);
    expect(build.filter((l) => l.startsWith("build line"))).toEqual(
      [1, 2, 3, 4, 5].map((i) => `build line ${i}`),
    );
    expect(await lines(shown.jobs[1]?.id as string)).toContain("deploying 1.2.42");

    // A cancel asked of the second reaches the run the first runs, and the agent's job.
    const dispatch = async (workflow: string) => {
      const { runIds } = (await onFirst("POST", "/api/v1/repositories/app/dispatch", {
        workflow,
      })) as { runIds: string[] };
      return runIds[0] as string;
    };
    const slow = await dispatch("slow.yml");
    await waitFor("the slow job to start", async () => {
      const run = (await onFirst("GET", `/api/v1/runs/${slow}`)) as Run;
      const job = run.jobs[0];
      if (job?.status !== "in_progress") return undefined;
      return (await lines(job.id)).includes("started") ? true : undefined;
    });
    expect(await onSecond("POST", `/api/v1/runs/${slow}/cancel`)).toEqual({ status: "cancelling" });
    const cancelled = await waitFor("the cancel", async () => {
      const run = (await onFirst("GET", `/api/v1/runs/${slow}`)) as Run;
      return run.status === "cancelled" ? run : undefined;
    });
    expect(cancelled.jobs.map((j) => j.status)).toEqual(["cancelled"]);

    // The first dies mid-run; the second carries the run on to its end.
    const steady = await dispatch("steady.yml");
    await waitFor("the count to begin", async () => {
      const run = (await onFirst("GET", `/api/v1/runs/${steady}`)) as Run;
      const job = run.jobs.find((j) => j.key === ".github/workflows/steady.yml / count");
      return job && (await lines(job.id)).includes("count 2") ? true : undefined;
    });
    await first.stop("SIGKILL");
    const finished = await waitFor("the run carried on", async () => {
      const run = (await onSecond("GET", `/api/v1/runs/${steady}`)) as Run;
      return ["success", "failure", "cancelled"].includes(run.status) ? run : undefined;
    });
    expect(finished.status).toBe("success");
    expect(finished.jobs.map((j) => [j.key, j.status])).toEqual([
      [".github/workflows/steady.yml / after", "success"],
      [".github/workflows/steady.yml / count", "success"],
    ]);
    const counted = (
      (await onSecond(
        "GET",
        `/api/v1/jobs/${finished.jobs.find((j) => j.key === ".github/workflows/steady.yml / count")?.id}/logs`,
      )) as { lines: string[] }
    ).lines.filter((l) => l.startsWith("count "));
    expect(counted).toEqual(Array.from({ length: 12 }, (_, i) => `count ${i + 1}`));
    // The killed process is forgotten; the one left carries nothing unfinished now.
    expect((await servers()).map((s) => [s.pid, s.self, s.runs])).toEqual([
      [second.child.pid, true, 0],
    ]);
  }, 120_000);
});
