import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { startAgent } from "./helpers/agent-process.js";
import { missing } from "./helpers/components.js";
import { committed, git } from "./helpers/git.js";
import { serverApi, waitFor } from "./helpers/server-api.js";
import { startServerProcess } from "./helpers/server-process.js";

// Postgres stopped for 10 s in the middle of a job: the server's writes wait and go through
// once it is back, the agent retries its own, and the job ends with every log line once.
// The test makes a Postgres cluster of its own (it cannot stop the one other tests use).

const PG_BIN = ["15", "16", "17", "14"]
  .map((v) => `/usr/lib/postgresql/${v}/bin`)
  .find((dir) => existsSync(join(dir, "initdb")));
const canRun =
  (PG_BIN !== undefined && process.getuid?.() === 0) ||
  missing(
    "postgres-cluster",
    "the Postgres outage test needs Debian's postgresql binaries (/usr/lib/postgresql/*/bin) and root, to run a cluster of its own as the postgres user.",
  );

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups.reverse()) c();
});

function pgCtl(dir: string, ...args: string[]): void {
  execFileSync(
    "runuser",
    ["-u", "postgres", "--", join(PG_BIN ?? "", "pg_ctl"), "-D", join(dir, "data"), ...args],
    {
      stdio: "ignore",
    },
  );
}

describe("a Postgres outage mid-run", () => {
  test.runIf(canRun)(
    "the job goes on, and no log line is lost or doubled",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "trunkline-pg-"));
      chownSync(dir, Number(execFileSync("id", ["-u", "postgres"]).toString().trim()), 0);
      const port = 20_000 + Math.floor(Math.random() * 10_000);
      execFileSync(
        "runuser",
        [
          "-u",
          "postgres",
          "--",
          join(PG_BIN ?? "", "initdb"),
          "-D",
          join(dir, "data"),
          "-A",
          "trust",
          "-U",
          "postgres",
        ],
        {
          stdio: "ignore",
        },
      );
      const start = () =>
        pgCtl(
          dir,
          "-o",
          `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
          "-l",
          join(dir, "log"),
          "-w",
          "start",
        );
      start();
      cleanups.push(() => {
        try {
          pgCtl(dir, "stop", "-m", "immediate");
        } catch {
          // already stopped
        }
        rmSync(dir, { recursive: true, force: true });
      });
      const dataDir = mkdtempSync(join(tmpdir(), "trunkline-pg-server-"));
      const server = await startServerProcess({
        dataDir,
        database: `postgres://postgres@127.0.0.1:${port}/postgres`,
        // The lease outlives the outage (10 s, plus Postgres's restart on a busy machine):
        // the job must go on, not be lost to an expired lease.
        extraArgs: ["--runner-capacity", "0", "--lease-timeout", "120"],
      });
      cleanups.push(() => void server.child.kill("SIGKILL"));
      const api = serverApi(() => server);
      await api("POST", "/api/v1/repositories", { name: "app" });
      const agent = await startAgent(server, "linux", join(dataDir, "agent"));
      cleanups.push(() => void agent.kill("SIGKILL"));
      const { dir: work } = await committed(
        {
          ".github/workflows/ticks.yml":
            "on: push\njobs:\n  tick:\n    runs-on: linux\n    steps:\n      - run: for i in $(seq 1 80); do echo tick $i; sleep 0.2; done\n",
        },
        "ticks",
      );
      await git(work, "push", "-q", server.gitUrl("app"), "main");
      const state = async () => {
        const [run] = (await api("GET", "/api/v1/repositories/app/runs")) as { id: string }[];
        const shown = (await api("GET", `/api/v1/runs/${run?.id}`)) as {
          status: string;
          jobs: { id: string; status: string; reason: string | null }[];
        };
        const job = shown.jobs[0];
        const lines = job
          ? ((await api("GET", `/api/v1/jobs/${job.id}/logs`)) as { lines: string[] }).lines
          : [];
        return { run: shown, job, lines };
      };
      await waitFor("the run", async () =>
        (await state()).lines.includes("tick 5") ? true : undefined,
      );
      pgCtl(dir, "stop", "-m", "fast", "-w");
      await new Promise((r) => setTimeout(r, 10_000));
      start();
      const ended = await waitFor("the run", async () => {
        const now = await state();
        return ["success", "failure", "cancelled"].includes(now.run.status) ? now : undefined;
      });
      expect([ended.run.status, ended.job?.status, ended.job?.reason]).toEqual([
        "success",
        "success",
        null,
      ]);
      const ticks = ended.lines.filter((l) => l.startsWith("tick "));
      expect(ticks).toEqual(Array.from({ length: 80 }, (_, i) => `tick ${i + 1}`));
      expect(await server.stop("SIGTERM")).toBe(0);
    },
    180_000,
  );
});
