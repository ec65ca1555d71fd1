import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";
import { postgresAvailable, postgresDatabase, type TestDatabase } from "./helpers/databases.js";
import { type ServerProcess, startServerProcess } from "./helpers/server-process.js";

// The whole server, as a team runs it: the built executable on SQLite and on Postgres, the
// sample app pushed over git, runs watched through the API and live logs, then a SIGKILL
// mid-run and a restart that must find everything still there and nothing stuck.

const APP = join(import.meta.dirname, "..", "examples", "orders-app");
const CHECKS = ["quality", "test-unit", "test-integration", "test-contracts", "security"];
const postgres = await postgresAvailable();

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Job {
  id: string;
  key: string;
  name: string;
  status: string;
  reason: string | null;
}
interface Run {
  id: string;
  number: number;
  ref: string;
  status: string;
  workflow: string;
  jobs: Job[];
}

/** The sample app in a fresh repository, plus two small workflows this test needs. */
function sampleApp(): string {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-e2e-app-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(APP, dir, { recursive: true, filter: (src) => !/\/(node_modules|dist)(\/|$)/.test(src) });
  mkdirSync(join(dir, ".github", "workflows"), { recursive: true });
  writeFileSync(
    join(dir, ".github", "workflows", "slow.yml"),
    [
      "name: Slow",
      "on:",
      "  push:",
      "    branches: [slow]",
      "jobs:",
      "  wait:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - run: echo started && sleep 20",
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(dir, ".github", "workflows", "secret-check.yml"),
    [
      "name: Secret check",
      "on: workflow_dispatch",
      "jobs:",
      "  check:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      '      - run: test "${{ secrets.DEPLOY_TOKEN }}" = "e2e-deploy-token" && echo "token ${{ secrets.DEPLOY_TOKEN }} works"',
      "",
    ].join("\n"),
  );
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.email=dev@example.com", "-c", "user.name=dev", ...args], {
      cwd: dir,
    });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "orders-api");
  git("tag", "v1.0.0");
  return dir;
}

describe.concurrent.each([
  ["sqlite", true],
  ["postgres", postgres],
] as const)("the server end to end on %s", (dialect, available) => {
  test.runIf(available)(
    "push the sample app, watch its runs, SIGKILL mid-run, restart: nothing lost, nothing stuck",
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "trunkline-e2e-data-"));
      // Steps the SIGKILLed server's runner had started outlive it for a while (their process
      // groups are their own) and may still be writing here: retry the removal.
      cleanups.push(() =>
        rmSync(dataDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 500 }),
      );
      let database: TestDatabase | undefined;
      if (dialect === "postgres") {
        database = await postgresDatabase();
        cleanups.push(() => database?.drop());
      }
      const url = database?.options.url;
      const start = () => startServerProcess({ dataDir, ...(url ? { database: url } : {}) });
      let server: ServerProcess = await start();
      cleanups.push(() => void server.child.kill("SIGKILL"));
      const cli = (...args: string[]) =>
        runCli([...args, "--server", server.base, "--token", server.token]);
      const api = async <T>(path: string): Promise<T> => {
        const response = await fetch(`${server.base}${path}`, {
          headers: { authorization: `Bearer ${server.token}` },
        });
        expect(response.status, path).toBe(200);
        return (await response.json()) as T;
      };
      const runs = () => api<Run[]>("/api/v1/repositories/orders-app/runs");
      const runOf = (id: string) => api<Run>(`/api/v1/runs/${id}`);
      const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
        for (let i = 0; i < 1200; i++) {
          const value = await probe();
          if (value !== undefined) return value;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error(`timed out waiting for ${what}`);
      };

      expect((await cli("repo", "create", "orders-app")).code).toBe(0);
      const secret = await cli(
        "secrets",
        "set",
        "DEPLOY_TOKEN",
        "--repo",
        "orders-app",
        "--value",
        "e2e-deploy-token",
      );
      expect(secret.code).toBe(0);

      // main, a feature branch and a release tag, in one push.
      const app = sampleApp();
      const remote = server.gitUrl("orders-app");
      execFileSync("git", ["push", "-q", remote, "main", "main:feature/login", "v1.0.0"], {
        cwd: app,
      });
      const [mainRun, featureRun, tagRun] = await waitFor<Run[]>("three runs", async () => {
        const all = await runs();
        const byRef = (ref: string) => all.find((r) => r.ref === ref);
        const found = ["refs/heads/main", "refs/heads/feature/login", "refs/tags/v1.0.0"].map(
          byRef,
        );
        return found.every(Boolean) ? (found as Run[]) : undefined;
      });
      if (!mainRun || !featureRun || !tagRun) throw new Error("unreachable");

      // Live logs of main's quality job over SSE, reconnecting half way with Last-Event-ID.
      const quality = await waitFor("main's quality job", async () =>
        (await runOf(mainRun.id)).jobs.find((j) => j.name === "quality"),
      );
      const streamed = await readStream(server, quality.id);

      // Staging (from main) and production (from the tag) wait for their reviewers.
      const held = await waitFor("the deployments to wait for their reviewers", async () => {
        const [m, t] = await Promise.all([runOf(mainRun.id), runOf(tagRun.id)]);
        const staging = m.jobs.find((j) => j.name === "deploy-staging");
        const production = t.jobs.find((j) => j.name === "deploy-production");
        return staging?.status === "waiting" && production?.status === "waiting"
          ? [staging, production]
          : undefined;
      });
      expect(held.map((j) => j.reason)).toEqual([
        "waiting for approval to deploy to 'staging' (0 of 1: qa-lead, tech-lead)",
        "waiting for approval to deploy to 'production' (0 of 2: tech-lead, sre-oncall, eng-manager)",
      ]);
      // A reviewer turns both down (their steps need a cluster this machine does not have).
      const reviewer = await fetch(`${server.base}/api/v1/tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "tech-lead", role: "maintainer" }),
      }).then((r) => r.json() as Promise<{ token: string }>);
      for (const [run, env] of [
        [mainRun, "staging"],
        [tagRun, "production"],
      ] as const) {
        const rejected = await runCli([
          "reject",
          `orders-app#${run.number}`,
          "--env",
          env,
          "--comment",
          "no cluster here",
          "--server",
          server.base,
          "--token",
          reviewer.token,
        ]);
        expect(rejected.code, rejected.stderr).toBe(0);
      }

      const finished = await waitFor("every run to finish", async () => {
        const all = await Promise.all([mainRun, featureRun, tagRun].map((r) => runOf(r.id)));
        return all.every((r) => ["success", "failure", "cancelled"].includes(r.status))
          ? all
          : undefined;
      });
      const [main, feature, tag] = finished.map((r) =>
        Object.fromEntries(r.jobs.map((j) => [j.name, j.status])),
      );
      // A failed job's log, to say why when the table below does not hold.
      for (const run of finished)
        for (const job of run.jobs.filter(
          (j) => j.status === "failure" && !j.reason?.includes("was rejected"),
        )) {
          const log = await api<{ lines: string[] }>(`/api/v1/jobs/${job.id}/logs`);
          console.error(
            `${run.ref} ${job.name} failed (${job.reason}):\n${log.lines.slice(-30).join("\n")}`,
          );
        }
      const ran = (...names: string[]) => Object.fromEntries(names.map((n) => [n, "success"]));
      const skipped = (...names: string[]) => Object.fromEntries(names.map((n) => [n, "skipped"]));
      // The seed guide's Branch Workflows table.
      expect(main).toEqual({
        ...ran(...CHECKS, "build", "deploy-dev"),
        ...skipped("deploy-production"),
        "deploy-staging": "failure",
      });
      expect(feature).toEqual({
        ...ran(...CHECKS),
        ...skipped("build", "deploy-dev", "deploy-staging", "deploy-production"),
      });
      expect(tag).toEqual({
        ...ran(...CHECKS, "build"),
        ...skipped("deploy-dev", "deploy-staging"),
        "deploy-production": "failure",
      });
      const staging = finished[0]?.jobs.find((j) => j.name === "deploy-staging");
      expect(staging?.reason).toBe(
        "the deployment to 'staging' was rejected by tech-lead: no cluster here",
      );
      expect(finished[2]?.jobs.find((j) => j.name === "deploy-production")?.reason).toBe(
        "the deployment to 'production' was rejected by tech-lead: no cluster here",
      );
      const stored = await api<{ lines: string[] }>(`/api/v1/jobs/${quality.id}/logs`);
      expect(streamed.lines).toEqual(stored.lines);
      expect(streamed.ids).toEqual(stored.lines.map((_, i) => String(i + 1)));
      expect(streamed.end).toEqual({ status: "success" });

      // A run in progress when the server is killed.
      execFileSync("git", ["push", "-q", remote, "main:slow"], { cwd: app });
      const slow = await waitFor("the slow run to start its step", async () => {
        const run = (await runs()).find((r) => r.workflow === "Slow");
        const job = run && (await runOf(run.id)).jobs[0];
        if (!run || !job) return undefined;
        const log = await api<{ lines: string[] }>(`/api/v1/jobs/${job.id}/logs`);
        return log.lines.includes("started") ? run : undefined;
      });
      expect(await server.stop("SIGKILL")).toBeNull();

      server = await start();
      // The slow branch started two runs: Slow, and the pipeline (which runs on every push).
      // Both are carried on: what the killed server's own runner held is lost (runner_lost),
      // what was still queued runs now, and both runs end instead of staying stuck.
      expect(server.stderr()).toContain("carrying on 2 run(s) the last stop left unfinished");
      const settled = await waitFor("the carried-on runs to end", async () => {
        const all = await Promise.all((await runs()).map((r) => runOf(r.id)));
        return all.every((r) => !["queued", "in_progress"].includes(r.status)) ? all : undefined;
      });
      for (const shown of settled) {
        expect(shown.jobs.filter((j) => ["queued", "in_progress"].includes(j.status))).toEqual([]);
        if (shown.ref === "refs/heads/slow") expect(shown.status).toBe("failure");
      }
      const afterSlow = await runOf(slow.id);
      expect(afterSlow.status).toBe("failure");
      expect(afterSlow.jobs.map((j) => [j.name, j.status, j.reason])).toEqual([
        ["wait", "failure", "runner_lost"],
      ]);
      // Every earlier run, job and log line is still there.
      const again = await Promise.all([mainRun, featureRun, tagRun].map((r) => runOf(r.id)));
      expect(again).toEqual(finished);
      expect(await api<{ lines: string[] }>(`/api/v1/jobs/${quality.id}/logs`)).toEqual(stored);
      // The secret survived, still decrypts, and is still masked.
      const listed = await cli("secrets", "list", "--repo", "orders-app", "--json");
      expect(JSON.parse(listed.stdout).map((s: { name: string }) => s.name)).toEqual([
        "DEPLOY_TOKEN",
      ]);
      const dispatched = await cli("dispatch", "orders-app", "secret-check.yml", "--json");
      const [checkRun] = JSON.parse(dispatched.stdout).runIds;
      const followed = await cli("runs", "logs", checkRun, "-f");
      expect(followed.stdout).toContain("token *** works");
      expect(followed.stdout).not.toContain("e2e-deploy-token");
      expect(followed.code).toBe(0);
      expect(await server.stop("SIGTERM")).toBe(0);
    },
    600_000,
  );
});

/**
 * Reads a job's live log: the first five lines, then a dropped connection, then the rest
 * from `Last-Event-ID`, as a browser's EventSource would. Returns the lines, their ids and
 * the final `end` event.
 */
async function readStream(
  server: ServerProcess,
  jobId: string,
): Promise<{ lines: string[]; ids: string[]; end: unknown }> {
  const lines: string[] = [];
  const ids: string[] = [];
  let end: unknown;
  let lastId: string | undefined;
  for (let connection = 0; end === undefined; connection++) {
    const abort = new AbortController();
    const response = await fetch(`${server.base}/api/v1/jobs/${jobId}/logs/stream`, {
      headers: {
        authorization: `Bearer ${server.token}`,
        ...(lastId ? { "last-event-id": lastId } : {}),
      },
      signal: abort.signal,
    });
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let at = buffer.indexOf("\n\n");
        while (at !== -1) {
          const fields = Object.fromEntries(
            buffer
              .slice(0, at)
              .split("\n")
              .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]),
          ) as Record<string, string>;
          buffer = buffer.slice(at + 2);
          if (fields.event === "end") end = JSON.parse(fields.data ?? "null");
          else {
            lines.push(fields.data ?? "");
            ids.push(fields.id ?? "");
            lastId = fields.id;
          }
          if (connection === 0 && lines.length === 5) abort.abort();
          at = buffer.indexOf("\n\n");
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
  }
  return { lines, ids, end };
}
