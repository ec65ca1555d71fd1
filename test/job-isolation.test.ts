import type { ChildProcess } from "node:child_process";
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { startAgent } from "./helpers/agent-process.js";
import { BUSYBOX_IMAGE, testEngine } from "./helpers/container-engine.js";
import { committed, git } from "./helpers/git.js";
import { serverApi, waitFor } from "./helpers/server-api.js";
import { type ServerProcess, startServerProcess } from "./helpers/server-process.js";
import { tempDirs } from "./helpers/temp-dirs.js";

// A job tries to take over the server that runs it: read the data directory (found by
// walking up from its workspace, and by its known path), the server's environment through
// /proc, every process's environment, and prints its own. On the embedded runner and on an
// agent of the same machine, every read must fail and no secret of the server's (or the
// agent's) may appear anywhere in the job's log. The job also does what jobs do (checkout,
// change the files, write outputs and its home), which must still work.

const { make: tempDir, keep } = tempDirs("isolation");
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
});

const isRoot = process.getuid?.() === 0;
const engine = await testEngine();
const WEBHOOK_SECRET = "whsec-canary-5f0c9e1b7a";
const SERVER_CANARY = "server-env-canary-77d1c3";
const AGENT_CANARY = "agent-env-canary-3a9be4";
/** A master key the server finds in its (old, too open) data directory. */
const MASTER_KEY = "a1".repeat(32);

interface Job {
  id: string;
  name: string;
  status: string;
}

/** The attack, as a job's script: each read says READ or DENIED, and the rest is printed. */
function attack(targets: { files: string[]; pids: number[]; canaries: string[] }): string {
  const script = [
    'try() { if out=$(cat "$1" 2>/dev/null | head -c 4096 | tr -d "\\0") && [ -n "$out" ]; then echo "READ $1: $out"; else echo "DENIED $1"; fi; }',
    ...targets.files.map((f) => `try '${f}'`),
    ...targets.pids.map((p) => `try /proc/${p}/environ`),
    // Up from the workspace: every readable key, token or database on the way.
    'd="$GITHUB_WORKSPACE"; while [ "$d" != / ]; do d=$(dirname "$d"); for f in "$d"/master.key "$d"/admin-token "$d"/trunkline.db "$d"/runner.json "$d"/*/master.key "$d"/*/admin-token "$d"/*/trunkline.db "$d"/*/runner.json; do [ -e "$f" ] && try "$f"; done; done',
    // Any process whose environment holds a canary.
    ...targets.canaries.map(
      (c) =>
        `for p in /proc/[0-9]*; do if { tr '\\0' '\\n' < $p/environ; } 2>/dev/null | grep -q '${c.slice(0, 12)}'; then echo "READ environ of $p"; fi; done`,
    ),
    "echo '--- env'",
    "env",
    "echo '--- id'",
    "id -u",
  ];
  return script.join("\n");
}

/** A workflow: the attack, then the work a job normally does, on runners with `label`. */
function workflow(label: string, script: string): string {
  return [
    "name: CI",
    "on: push",
    "jobs:",
    "  attack:",
    `    runs-on: ${label}`,
    "    steps:",
    "      - uses: actions/checkout@v4",
    "      - run: |",
    ...script.split("\n").map((l) => `          ${l}`),
    "      - id: work",
    "        run: |",
    "          echo changed >> README.md && grep -q changed README.md",
    "          mkdir -p src/new && touch src/new/file && rm src/old.txt",
    '          echo "x" > "$HOME/.profile-of-the-job" && echo "dir=$PWD" >> "$GITHUB_OUTPUT"',
    '          echo "FROM_ENV=yes" >> "$GITHUB_ENV" && echo "$RUNNER_TEMP" && touch "$RUNNER_TEMP/t"',
    '      - run: test "$FROM_ENV" = yes && test -n "${{ steps.work.outputs.dir }}"',
    "",
  ].join("\n");
}

/** The job's log once its run has ended, with the run's status. */
async function runAndRead(
  server: ServerProcess,
  files: Record<string, string>,
): Promise<{ status: string; log: string }> {
  const api = serverApi(() => server);
  await api("POST", "/api/v1/repositories", { name: "app" });
  const { dir } = await committed(files);
  keep(dir);
  await git(dir, "push", "-q", server.gitUrl("app"), "main");
  const run = await waitFor("the run to end", async () => {
    const [r] = (await api("GET", "/api/v1/repositories/app/runs")) as {
      id: string;
      status: string;
    }[];
    return r && ["success", "failure", "cancelled"].includes(r.status) ? r : undefined;
  });
  const shown = (await api("GET", `/api/v1/runs/${run.id}`)) as { jobs: Job[] };
  const job = shown.jobs[0] as Job;
  const log = (await api("GET", `/api/v1/jobs/${job.id}/logs`)) as { lines: string[] };
  return { status: run.status, log: log.lines.join("\n") };
}

/**
 * A data directory as an older install left it: readable by all, with its key; owned by
 * `owner` when given (a server run as that user).
 */
function openDataDir(owner?: { uid: number; gid: number }): string {
  const base = tempDir();
  const dataDir = join(base, "data");
  mkdirSync(dataDir, { mode: 0o755 });
  writeFileSync(join(dataDir, "master.key"), `${MASTER_KEY}\n`, { mode: 0o644 });
  if (owner) {
    chownSync(base, owner.uid, owner.gid);
    chownSync(dataDir, owner.uid, owner.gid);
    chownSync(join(dataDir, "master.key"), owner.uid, owner.gid);
  }
  return dataDir;
}

function expectNothingLeaked(log: string, secrets: string[]): void {
  expect(log).not.toMatch(/^READ /m);
  for (const secret of secrets) expect(log).not.toContain(secret);
}

describe.skipIf(!isRoot)("a job cannot reach what its runner holds (runner as root)", () => {
  test("the embedded runner's job can read neither the data directory nor the server's environment", async () => {
    const dataDir = openDataDir();
    const server = await startServerProcess({
      dataDir,
      env: { TRUNKLINE_WEBHOOK_SECRET: WEBHOOK_SECRET, TRUNKLINE_SERVER_CANARY: SERVER_CANARY },
    });
    children.push(server.child);
    const pid = server.child.pid as number;
    const db = join(dataDir, "trunkline.db");
    const script = attack({
      files: [join(dataDir, "master.key"), join(dataDir, "admin-token"), db, `${db}-wal`],
      pids: [pid],
      canaries: [SERVER_CANARY, WEBHOOK_SECRET],
    });
    const { status, log } = await runAndRead(server, {
      ".github/workflows/ci.yml": workflow("ubuntu-latest", script),
      "README.md": "hello\n",
      "src/old.txt": "old\n",
    });
    expect(log).toContain(`DENIED ${join(dataDir, "master.key")}`);
    expect(log).toContain(`DENIED ${join(dataDir, "admin-token")}`);
    expect(log).toContain(`DENIED ${db}`);
    expect(log).toContain(`DENIED /proc/${pid}/environ`);
    expectNothingLeaked(log, [MASTER_KEY, server.token, WEBHOOK_SECRET, SERVER_CANARY]);
    expect(log).not.toMatch(/^TRUNKLINE_/m);
    // Not root: the job's user.
    expect(log).toMatch(/--- id\n(?!0\n)\d+/);
    expect(status).toBe("success");
    // The old install was put right.
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const name of ["master.key", "admin-token", "trunkline.db"]) {
      expect(statSync(join(dataDir, name)).mode & 0o777).toBe(0o600);
    }
    expect(await server.stop("SIGTERM")).toBe(0);
  });

  test.runIf(engine !== undefined)(
    "a job container has no path of the data directory mounted",
    async () => {
      const dataDir = openDataDir();
      const server = await startServerProcess({ dataDir });
      children.push(server.child);
      const { status, log } = await runAndRead(server, {
        ".github/workflows/ci.yml": [
          "on: push",
          "jobs:",
          "  inside:",
          "    runs-on: ubuntu-latest",
          `    container: ${BUSYBOX_IMAGE}`,
          "    steps:",
          "      - run: |",
          `          echo "data mounts: $(grep -c '${dataDir}' /proc/self/mountinfo)"`,
          `          ls '${dataDir}' 2>/dev/null && echo "READ the data directory" || echo "no data directory"`,
          '          echo built > "$GITHUB_WORKSPACE/out" && cat "$GITHUB_WORKSPACE/out"',
          "",
        ].join("\n"),
      });
      expect(log).toContain("data mounts: 0");
      expect(log).toContain("no data directory");
      expect(log).toContain("built");
      expect(status).toBe("success");
      expect(await server.stop("SIGTERM")).toBe(0);
    },
  );

  test("a job's processes end with a server killed by SIGKILL: nothing of its sandbox is left", async () => {
    const server = await startServerProcess({ dataDir: openDataDir() });
    children.push(server.child);
    const api = serverApi(() => server);
    await api("POST", "/api/v1/repositories", { name: "app" });
    const { dir } = await committed({
      ".github/workflows/ci.yml": [
        "on: push",
        "jobs:",
        "  long:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - run: (sleep 301.25 &) ; echo started; sleep 301.5",
        "",
      ].join("\n"),
    });
    keep(dir);
    await git(dir, "push", "-q", server.gitUrl("app"), "main");
    await waitFor("the job to start its processes", async () => {
      const [run] = (await api("GET", "/api/v1/repositories/app/runs")) as { id: string }[];
      if (!run) return undefined;
      const shown = (await api("GET", `/api/v1/runs/${run.id}`)) as { jobs: Job[] };
      const job = shown.jobs[0];
      if (!job) return undefined;
      const log = (await api("GET", `/api/v1/jobs/${job.id}/logs`)) as { lines: string[] };
      return log.lines.includes("started") ? true : undefined;
    });
    const jobProcesses = () =>
      readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            const argv = readFileSync(`/proc/${p}/cmdline`, "latin1").split("\0");
            return argv[0] === "sleep" && ["301.25", "301.5"].includes(argv[1] ?? "");
          } catch {
            return false;
          }
        });
    expect(jobProcesses()).toHaveLength(2);
    server.child.kill("SIGKILL");
    // Ended by the kernel once the server is gone: wait for it, for at most 10 s.
    await waitFor(
      "the job's processes to end",
      async () => (jobProcesses().length === 0 ? true : undefined),
      100,
    ).catch(() => undefined);
    expect(jobProcesses()).toEqual([]);
  });

  test("an agent's job on the server's machine can read neither the server's nor the agent's secrets", async () => {
    const dataDir = openDataDir();
    const server = await startServerProcess({
      dataDir,
      env: { TRUNKLINE_WEBHOOK_SECRET: WEBHOOK_SECRET, TRUNKLINE_SERVER_CANARY: SERVER_CANARY },
      extraArgs: ["--runner-capacity", "0"],
    });
    children.push(server.child);
    const workDir = tempDir();
    const agent = await startAgent(server, "self-hosted,linux", workDir, {
      env: { TRUNKLINE_AGENT_CANARY: AGENT_CANARY },
    });
    children.push(agent);
    const registration = readFileSync(join(workDir, "runner.json"), "utf8");
    const runnerToken = (JSON.parse(registration) as { token: string }).token;
    const script = attack({
      files: [
        join(dataDir, "master.key"),
        join(dataDir, "admin-token"),
        join(dataDir, "trunkline.db"),
        join(workDir, "runner.json"),
      ],
      pids: [server.child.pid as number, agent.pid as number],
      canaries: [SERVER_CANARY, AGENT_CANARY, WEBHOOK_SECRET],
    });
    const { status, log } = await runAndRead(server, {
      ".github/workflows/ci.yml": workflow("[self-hosted, linux]", script),
      "README.md": "hello\n",
      "src/old.txt": "old\n",
    });
    expect(log).toContain(`DENIED ${join(workDir, "runner.json")}`);
    expect(log).toContain(`DENIED /proc/${agent.pid}/environ`);
    expectNothingLeaked(log, [
      MASTER_KEY,
      server.token,
      runnerToken,
      WEBHOOK_SECRET,
      SERVER_CANARY,
      AGENT_CANARY,
    ]);
    expect(log).toMatch(/--- id\n(?!0\n)\d+/);
    expect(status).toBe("success");
    expect(statSync(workDir).mode & 0o777).toBe(0o700);
    expect(await server.stop("SIGTERM")).toBe(0);
  });
});

// A runner that is not root: its jobs run as its own user, each in namespaces of its own that
// hide the data directory and every process outside. Run as nobody when the tests are root.
describe("a job cannot reach what its runner holds (runner not root)", () => {
  const as = isRoot ? { uid: 65534, gid: 65534 } : undefined;

  test("the embedded runner's job sees an empty data directory and no process of the server's", async () => {
    const dataDir = openDataDir(as);
    const server = await startServerProcess({
      dataDir,
      env: { TRUNKLINE_WEBHOOK_SECRET: WEBHOOK_SECRET, TRUNKLINE_SERVER_CANARY: SERVER_CANARY },
      ...(as ? { as } : {}),
    });
    children.push(server.child);
    expect(server.stderr()).toMatch(/jobs run in namespaces of their own/);
    const pid = server.child.pid as number;
    const db = join(dataDir, "trunkline.db");
    const { status, log } = await runAndRead(server, {
      ".github/workflows/ci.yml": workflow(
        "ubuntu-latest",
        attack({
          files: [join(dataDir, "master.key"), join(dataDir, "admin-token"), db],
          pids: [pid],
          canaries: [SERVER_CANARY, WEBHOOK_SECRET],
        }),
      ),
      "README.md": "hello\n",
      "src/old.txt": "old\n",
    });
    expect(log).toContain(`DENIED ${join(dataDir, "master.key")}`);
    expect(log).toContain(`DENIED ${db}`);
    expect(log).toContain(`DENIED /proc/${pid}/environ`);
    expectNothingLeaked(log, [MASTER_KEY, server.token, WEBHOOK_SECRET, SERVER_CANARY]);
    expect(log).not.toMatch(/^TRUNKLINE_/m);
    expect(status).toBe("success");
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(await server.stop("SIGTERM")).toBe(0);
  });

  test("an agent's job sees neither the agent's registration nor the server's data", async () => {
    const dataDir = openDataDir(as);
    const server = await startServerProcess({
      dataDir,
      env: { TRUNKLINE_WEBHOOK_SECRET: WEBHOOK_SECRET },
      extraArgs: ["--runner-capacity", "0"],
      ...(as ? { as } : {}),
    });
    children.push(server.child);
    const workDir = tempDir();
    if (as) chownSync(workDir, as.uid, as.gid);
    // As the server's user, the agent is told where the server's data is.
    const agent = await startAgent(server, "self-hosted,linux", workDir, {
      env: { TRUNKLINE_AGENT_CANARY: AGENT_CANARY },
      extraArgs: ["--hide", dataDir],
      ...(as ? { as } : {}),
    });
    children.push(agent);
    const registration = readFileSync(join(workDir, "runner.json"), "utf8");
    const runnerToken = (JSON.parse(registration) as { token: string }).token;
    const { status, log } = await runAndRead(server, {
      ".github/workflows/ci.yml": workflow(
        "[self-hosted, linux]",
        attack({
          files: [
            join(dataDir, "master.key"),
            join(dataDir, "admin-token"),
            join(workDir, "runner.json"),
          ],
          pids: [server.child.pid as number, agent.pid as number],
          canaries: [AGENT_CANARY, WEBHOOK_SECRET],
        }),
      ),
      "README.md": "hello\n",
      "src/old.txt": "old\n",
    });
    expect(log).toContain(`DENIED ${join(workDir, "runner.json")}`);
    expect(log).toContain(`DENIED ${join(dataDir, "master.key")}`);
    expect(log).toContain(`DENIED /proc/${agent.pid}/environ`);
    expectNothingLeaked(log, [MASTER_KEY, server.token, runnerToken, WEBHOOK_SECRET, AGENT_CANARY]);
    expect(status).toBe("success");
    expect(await server.stop("SIGTERM")).toBe(0);
  });
});
