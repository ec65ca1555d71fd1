import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { type AgentProcess, startAgent as startAgentProcess } from "./helpers/agent-process.js";
import { committed, git } from "./helpers/git.js";
import { serverApi, waitFor } from "./helpers/server-api.js";
import { type ServerProcess, startServerProcess } from "./helpers/server-process.js";

// Runner agents as separate processes on loopback, against the built server with no
// embedded runner: a job reaches an idle agent, runs there and reports back; an agent killed
// with SIGKILL mid-job loses its lease, the job fails as runner_lost, and the run goes on.

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Starts an agent with a work directory of its own, killed after the tests. */
async function startAgent(server: ServerProcess, labels: string): Promise<AgentProcess> {
  const child = await startAgentProcess(server, labels, tempDir("trunkline-agent-"));
  children.push(child);
  return child;
}

interface Job {
  id: string;
  name: string;
  status: string;
  reason: string | null;
}

describe.concurrent("runner agents", () => {
  test("a job reaches an idle agent and runs there; a SIGKILLed agent's job is lost, the run goes on", async () => {
    const server = await startServerProcess({
      dataDir: tempDir("trunkline-agent-server-"),
      extraArgs: ["--runner-capacity", "0", "--lease-timeout", "3"],
    });
    children.push(server.child);
    const api = serverApi(() => server);
    await api("POST", "/api/v1/repositories", { name: "app" });
    const { dir: work } = await committed(
      {
        ".github/workflows/ci.yml": [
          "name: CI",
          "on: push",
          "jobs:",
          "  build:",
          "    runs-on: [self-hosted, linux]",
          "    steps:",
          '      - run: echo "built on the agent in $PWD" && test -f README.md',
          '      - run: echo "runner $RUNNER_NAME / ${{ runner.name }}"',
          "",
        ].join("\n"),
        ".github/workflows/slow.yml": [
          "name: Slow",
          "on: workflow_dispatch",
          "jobs:",
          "  wait:",
          "    runs-on: linux",
          "    steps:",
          "      - run: echo started && sleep 60",
          "  after:",
          "    needs: wait",
          "    runs-on: linux",
          "    steps: [{ run: echo never }]",
          "  cleanup:",
          "    needs: wait",
          "    if: always()",
          "    runs-on: linux",
          "    steps: [{ run: 'echo cleaning up after ${{ needs.wait.result }}' }]",
          "",
        ].join("\n"),
        "README.md": "hello\n",
      },
      "ci",
    );

    const first = await startAgent(server, "self-hosted,linux,x64");
    const runners = (await api("GET", "/api/v1/runners")) as { labels: string[] }[];
    expect(runners.map((r) => r.labels)).toEqual([["linux", "self-hosted", "x64"]]);
    await git(work, "push", "-q", server.gitUrl("app"), "main");
    const ci = await waitFor("the run", async () => {
      const [run] = (await api("GET", "/api/v1/repositories/app/runs")) as {
        id: string;
        status: string;
      }[];
      return run && run.status === "success" ? run : undefined;
    });
    const shown = (await api("GET", `/api/v1/runs/${ci.id}`)) as { jobs: Job[] };
    const log = (await api("GET", `/api/v1/jobs/${shown.jobs[0]?.id}/logs`)) as { lines: string[] };
    // An agent's jobs run in its jobs directory, apart from its work directory (its token).
    expect(log.lines.join("\n")).toMatch(/built on the agent in .*\/agent-[0-9a-f]{12}\/jobs\//);
    // Its jobs know it by the name it registered with (the host's, when not given).
    expect(log.lines).toContain(`runner ${hostname()} / ${hostname()}`);

    // Kill the agent in the middle of a job.
    const { runIds } = (await api("POST", "/api/v1/repositories/app/dispatch", {
      workflow: "slow.yml",
    })) as {
      runIds: string[];
    };
    const slowId = runIds[0] as string;
    await waitFor("the run", async () => {
      const run = (await api("GET", `/api/v1/runs/${slowId}`)) as { jobs: Job[] };
      const wait = run.jobs.find((j) => j.name === "wait");
      if (!wait) return undefined;
      const lines = ((await api("GET", `/api/v1/jobs/${wait.id}/logs`)) as { lines: string[] })
        .lines;
      return lines.includes("started") ? true : undefined;
    });
    first.kill("SIGKILL");
    // The lease (3 s) runs out; the job is lost; cleanup (always) waits for a runner.
    const lost = await waitFor("the run", async () => {
      const run = (await api("GET", `/api/v1/runs/${slowId}`)) as { jobs: Job[] };
      const wait = run.jobs.find((j) => j.name === "wait");
      return wait?.status === "failure" ? wait : undefined;
    });
    expect(lost.reason).toBe("runner_lost");
    await startAgent(server, "linux");
    const ended = await waitFor("the run", async () => {
      const run = (await api("GET", `/api/v1/runs/${slowId}`)) as { status: string; jobs: Job[] };
      return run.status === "failure" ? run : undefined;
    });
    expect(Object.fromEntries(ended.jobs.map((j) => [j.name, [j.status, j.reason]]))).toEqual({
      wait: ["failure", "runner_lost"],
      after: ["skipped", null],
      cleanup: ["success", null],
    });
    const cleanup = ended.jobs.find((j) => j.name === "cleanup");
    const cleanupLog = (await api("GET", `/api/v1/jobs/${cleanup?.id}/logs`)) as {
      lines: string[];
    };
    expect(cleanupLog.lines).toContain("cleaning up after failure");
    expect(await server.stop("SIGTERM")).toBe(0);
  }, 120_000);

  test("a stopped agent's lease is taken away and its late writes are refused; a cancel reaches a running agent", async () => {
    const server = await startServerProcess({
      dataDir: tempDir("trunkline-agent-server-"),
      extraArgs: ["--runner-capacity", "0", "--lease-timeout", "3"],
    });
    children.push(server.child);
    const api = serverApi(() => server);
    await api("POST", "/api/v1/repositories", { name: "app" });
    const { dir: work } = await committed(
      {
        ".github/workflows/ticks.yml": [
          "name: Ticks",
          "on: workflow_dispatch",
          "jobs:",
          "  tick:",
          "    runs-on: linux",
          "    steps:",
          "      - run: for i in $(seq 1 100); do echo tick $i; sleep 0.2; done",
          "      - if: always()",
          "        run: echo finally",
          "",
        ].join("\n"),
      },
      "ticks",
    );
    await git(work, "push", "-q", server.gitUrl("app"), "main");
    const logOf = async (runId: string) => {
      const run = (await api("GET", `/api/v1/runs/${runId}`)) as { status: string; jobs: Job[] };
      const job = run.jobs[0];
      const lines = job
        ? ((await api("GET", `/api/v1/jobs/${job.id}/logs`)) as { lines: string[] }).lines
        : [];
      return { run, job, lines };
    };
    const dispatch = async () =>
      (
        (await api("POST", "/api/v1/repositories/app/dispatch", { workflow: "ticks.yml" })) as {
          runIds: string[];
        }
      ).runIds[0] as string;

    // SIGSTOP: the agent stops answering; its lease runs out; SIGCONT: it finds out and stops.
    const agent = await startAgent(server, "linux");
    const stoppedRun = await dispatch();
    await waitFor("the run", async () =>
      (await logOf(stoppedRun)).lines.includes("tick 3") ? true : undefined,
    );
    agent.kill("SIGSTOP");
    const lost = await waitFor("the run", async () => {
      const { run, job, lines } = await logOf(stoppedRun);
      return run.status === "failure" ? { job, lines } : undefined;
    });
    expect([lost.job?.status, lost.job?.reason]).toEqual(["failure", "runner_lost"]);
    agent.kill("SIGCONT");

    // A cancel reaches the (same, resumed) agent within its next heartbeat.
    const cancelledRun = await dispatch();
    await waitFor("the run", async () =>
      (await logOf(cancelledRun)).lines.includes("tick 2") ? true : undefined,
    );
    // The agent (one job at a time) took the next job only once it was done with the one it
    // lost, its late writes included: nothing it wrote after losing the lease was taken, and
    // no line is doubled.
    const after = await logOf(stoppedRun);
    expect(after.lines).toEqual(lost.lines);
    const ticks = after.lines.filter((l) => l.startsWith("tick "));
    expect(ticks).toEqual(ticks.map((_, i) => `tick ${i + 1}`));
    await api("POST", `/api/v1/runs/${cancelledRun}/cancel`);
    const ended = await waitFor("the run", async () => {
      const { run, job, lines } = await logOf(cancelledRun);
      return run.status === "cancelled" ? { job, lines } : undefined;
    });
    expect(ended.job?.status).toBe("cancelled");
    expect(ended.lines).toContain("finally");
    expect(ended.lines).not.toContain("tick 100");

    // A cancel that races the assignment (the agent is idle and claims at once): whichever
    // comes first, the job ends cancelled and the agent is free again.
    for (let round = 0; round < 3; round++) {
      const racing = await dispatch();
      await api("POST", `/api/v1/runs/${racing}/cancel`);
      const raced = await waitFor("the run", async () => {
        const { run, job } = await logOf(racing);
        return run.status !== "queued" && run.status !== "in_progress" ? { run, job } : undefined;
      });
      expect([raced.run.status, raced.job?.status ?? "cancelled"]).toEqual([
        "cancelled",
        "cancelled",
      ]);
    }
    // And the agent still takes jobs.
    const next = await dispatch();
    await waitFor("the run", async () =>
      (await logOf(next)).lines.includes("tick 1") ? true : undefined,
    );
    await api("POST", `/api/v1/runs/${next}/cancel`);
    expect(await server.stop("SIGTERM")).toBe(0);
  }, 120_000);

  test("the server killed mid-job and started again: the agent goes on, nothing lost or doubled", async () => {
    const dataDir = tempDir("trunkline-agent-server-");
    // The agent's lease must outlive the server's restart: set well beyond it.
    const lease = ["--lease-timeout", "120"];
    let server = await startServerProcess({
      dataDir,
      extraArgs: ["--runner-capacity", "0", ...lease],
    });
    children.push(server.child);
    const port = new URL(server.base).port;
    const api = serverApi(() => server);
    await api("POST", "/api/v1/repositories", { name: "app" });
    const { dir: work } = await committed(
      {
        ".github/workflows/ticks.yml": [
          "name: Ticks",
          "on: push",
          "jobs:",
          "  tick:",
          "    runs-on: linux",
          "    steps:",
          "      - run: for i in $(seq 1 40); do echo tick $i; sleep 0.2; done",
          "  after:",
          "    needs: tick",
          "    runs-on: linux",
          "    steps: [{ run: 'echo after ${{ needs.tick.result }}' }]",
          "",
        ].join("\n"),
      },
      "ticks",
    );
    const agent = await startAgent(server, "linux");
    let agentSaid = "";
    agent.stderr.on("data", (b: Buffer) => {
      agentSaid += b.toString();
    });
    await git(work, "push", "-q", server.gitUrl("app"), "main");
    const state = async () => {
      const [run] = (await api("GET", "/api/v1/repositories/app/runs")) as { id: string }[];
      const shown = (await api("GET", `/api/v1/runs/${run?.id}`)) as {
        status: string;
        jobs: Job[];
      };
      const logs: Record<string, string[]> = {};
      for (const job of shown.jobs)
        logs[job.name] = (
          (await api("GET", `/api/v1/jobs/${job.id}/logs`)) as { lines: string[] }
        ).lines;
      return { run: shown, logs };
    };
    await waitFor("the run", async () =>
      (await state()).logs.tick?.includes("tick 5") ? true : undefined,
    );
    expect(await server.stop("SIGKILL")).toBeNull();
    // The agent finds the server gone (a write fails and is retried) before it comes back.
    await waitFor("the agent to miss the server", async () =>
      agentSaid.includes("cannot reach") ? true : undefined,
    );
    server = await startServerProcess({
      dataDir,
      extraArgs: ["--runner-capacity", "0", "--port", port, ...lease],
    });
    children.push(server.child);
    expect(server.stderr()).toContain("carrying on 1 run(s) the last stop left unfinished");
    const ended = await waitFor("the run", async () => {
      const now = await state();
      return now.run.status === "success" || now.run.status === "failure" ? now : undefined;
    });
    expect(Object.fromEntries(ended.run.jobs.map((j) => [j.name, j.status]))).toEqual({
      tick: "success",
      after: "success",
    });
    const ticks = (ended.logs.tick ?? []).filter((l) => l.startsWith("tick "));
    expect(ticks).toEqual(Array.from({ length: 40 }, (_, i) => `tick ${i + 1}`));
    expect(ended.logs.after).toContain("after success");
    expect(await server.stop("SIGTERM")).toBe(0);
  }, 120_000);

  test("an agent whose runner is removed stops asking, deletes its registration and says how to register again", async () => {
    const server = await startServerProcess({
      dataDir: tempDir("trunkline-agent-server-"),
      extraArgs: ["--runner-capacity", "0"],
    });
    children.push(server.child);
    const api = serverApi(() => server);
    const workDir = tempDir("trunkline-agent-");
    const agent = await startAgentProcess(server, "linux", workDir);
    children.push(agent);
    let said = "";
    agent.stderr.on("data", (b: Buffer) => {
      said += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => agent.on("exit", resolve));
    const [runner] = (await api("GET", "/api/v1/runners")) as { id: string }[];
    await api("DELETE", `/api/v1/runners/${runner?.id}`);
    expect(await exited).toBe(1);
    expect(said).toContain(
      `trunkline: agent ${runner?.id}: the server no longer knows this runner (it was removed, or its token revoked); its registration was deleted: start the agent again with --token to register anew`,
    );
    expect(said).not.toContain("(retrying)");
    expect(existsSync(join(workDir, "runner.json"))).toBe(false);
    expect(await server.stop("SIGTERM")).toBe(0);
  }, 60_000);

  test("with --retry-runner-lost, a run whose only failure is a lost runner starts again by itself; the first attempt stays as it was", async () => {
    const server = await startServerProcess({
      dataDir: tempDir("trunkline-agent-server-"),
      extraArgs: ["--runner-capacity", "0", "--lease-timeout", "2", "--retry-runner-lost", "1"],
    });
    children.push(server.child);
    const api = serverApi(() => server);
    await api("POST", "/api/v1/repositories", { name: "app" });
    const { dir: work } = await committed(
      {
        ".github/workflows/flaky.yml": [
          "name: Flaky",
          "on: workflow_dispatch",
          "jobs:",
          "  build:",
          "    runs-on: linux",
          "    steps:",
          '      - run: echo "attempt $GITHUB_RUN_ATTEMPT" && if [ "$GITHUB_RUN_ATTEMPT" = 1 ]; then sleep 60; fi',
          "  after:",
          "    needs: build",
          "    runs-on: linux",
          "    steps: [{ run: echo after }]",
          "",
        ].join("\n"),
      },
      "flaky",
    );
    await git(work, "push", "-q", server.gitUrl("app"), "main");
    const first = await startAgent(server, "linux");
    const { runIds } = (await api("POST", "/api/v1/repositories/app/dispatch", {
      workflow: "flaky.yml",
    })) as { runIds: string[] };
    const runId = runIds[0] as string;
    const shown = (attempt?: number) =>
      api("GET", `/api/v1/runs/${runId}${attempt ? `?attempt=${attempt}` : ""}`) as Promise<{
        status: string;
        attempt: number;
        jobs: Job[];
      }>;
    await waitFor("the first attempt's job", async () => {
      const job = (await shown()).jobs.find((j) => j.name === "build");
      if (!job) return undefined;
      const { lines } = (await api("GET", `/api/v1/jobs/${job.id}/logs`)) as { lines: string[] };
      return lines.includes("attempt 1") ? true : undefined;
    });
    first.kill("SIGKILL");
    await startAgent(server, "linux");
    const retried = await waitFor("the second attempt", async () => {
      const run = await shown();
      return run.attempt === 2 && run.status === "success" ? run : undefined;
    });
    expect(Object.fromEntries(retried.jobs.map((j) => [j.name, j.status]))).toEqual({
      build: "success",
      after: "success",
    });
    const earlier = await shown(1);
    expect(Object.fromEntries(earlier.jobs.map((j) => [j.name, [j.status, j.reason]]))).toEqual({
      build: ["failure", "runner_lost"],
      after: ["skipped", null],
    });
    expect(await server.stop("SIGTERM")).toBe(0);
  }, 120_000);
});
