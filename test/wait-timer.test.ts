import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { afterAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";
import { committed, git } from "./helpers/git.js";
import { serverApi, waitFor } from "./helpers/server-api.js";
import { startServerProcess } from "./helpers/server-process.js";
import { tempDirs } from "./helpers/temp-dirs.js";

// An environment's wait timer on the server: the deployment waits (status `waiting`, with
// until when) a full minute from when it was ready, and a server killed with SIGKILL during
// the wait carries the timer on from where it was, not from its restart.

const temp = tempDirs("wait-timer");
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
});

interface Job {
  key: string;
  status: string;
  reason: string | null;
  startedAt: number | null;
  finishedAt: number | null;
}

describe("wait timers on the server", () => {
  test("a 1-minute timer holds the deployment 60 s from when it was ready, across a SIGKILL of the server", async () => {
    const dataDir = temp.make();
    const jobsDir = temp.make();
    const start = async () => {
      const server = await startServerProcess({
        dataDir,
        extraArgs: ["--jobs-dir", jobsDir],
      });
      children.push(server.child);
      return server;
    };
    let server = await start();
    const api = serverApi(() => server);
    await api("POST", "/api/v1/repositories", { name: "app" });
    const { dir: work } = await committed(
      {
        ".github/workflows/deploy.yml": [
          "on: push",
          "jobs:",
          "  build:",
          "    runs-on: ubuntu-latest",
          "    steps: [{ run: echo built }]",
          "  deploy:",
          "    needs: build",
          "    runs-on: ubuntu-latest",
          "    environment: staging",
          "    steps: [{ run: echo deployed }]",
          "",
        ].join("\n"),
        ".trunkline/config.yml": "environments:\n  staging:\n    wait-timer: 1\n",
      },
      "deploy",
    );
    temp.keep(work);
    await git(work, "push", "-q", server.gitUrl("app"), "main");
    const jobs = async () => {
      const [run] = (await api("GET", "/api/v1/repositories/app/runs")) as {
        id: string;
        status: string;
      }[];
      const shown = (await api("GET", `/api/v1/runs/${run?.id}`)) as { jobs: Job[] };
      const byKey = Object.fromEntries(shown.jobs.map((j) => [j.key.replace(/^.* \/ /, ""), j]));
      return { status: run?.status, build: byKey.build, deploy: byKey.deploy };
    };
    const waiting = await waitFor("the deployment to wait", async () => {
      const now = await jobs();
      return now.deploy?.status === "waiting" ? now : undefined;
    });
    expect(waiting.deploy?.reason).toMatch(/^waiting until \d\d:\d\d:\d\d \(wait timer 1 m\)$/);
    const ready = waiting.build?.finishedAt ?? 0;
    const shown = await runCli([
      "runs",
      "show",
      "app#1",
      "--server",
      server.base,
      "--token",
      server.token,
    ]);
    expect(shown.stdout).toMatch(
      /⏸ waiting +deploy +.*waiting until \d\d:\d\d:\d\d \(wait timer 1 m\)/,
    );

    // Killed during the wait, started again: the timer goes on.
    await server.stop("SIGKILL");
    server = await start();
    const ended = await waitFor(
      "the run to end",
      async () => {
        const now = await jobs();
        return ["success", "failure", "cancelled"].includes(now.status ?? "") ? now : undefined;
      },
      1_500, // tries, 100 ms apart
    );
    expect([ended.status, ended.build?.status, ended.deploy?.status]).toEqual([
      "success",
      "success",
      "success",
    ]);
    const waited = (ended.deploy?.startedAt ?? 0) - ready;
    expect(waited).toBeGreaterThanOrEqual(60_000);
    // The restarted server carried the run on with the same timer (its event log says the
    // deployment waited twice, until the same moment), not with one started anew.
    const db = new SQLite(join(dataDir, "trunkline.db"), { readonly: true });
    try {
      const untils = (
        db.prepare("select data from events where type = 'job.waiting' order by id").all() as {
          data: string;
        }[]
      )
        .map((r) => JSON.parse(r.data) as { job: string; until?: number })
        .filter((e) => e.job.endsWith(" / deploy") && e.until !== undefined)
        .map((e) => e.until);
      expect(untils).toEqual([untils[0], untils[0]]);
    } finally {
      db.close();
    }
  }, 180_000);
});
