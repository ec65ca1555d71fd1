import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { startAgent } from "./helpers/agent-process.js";
import { runCli } from "./helpers/capture.js";
import { committed, git } from "./helpers/git.js";
import { finishedRun, serverApi, waitFor } from "./helpers/server-api.js";
import { startServerProcess } from "./helpers/server-process.js";
import { tempRepo } from "./helpers/temp-repo.js";

// An unmodified action built on the toolkit: a node action written here that uses
// @actions/cache from npm (the library every caching action bundles) saves in one local run
// and restores in the next, through Trunkline's cache service.

const ACTION_MAIN = `import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const cache = await import(pathToFileURL(process.env.TOOLKIT_CACHE).href);
if (!cache.isFeatureAvailable()) throw new Error("no cache service");
// The key comes from the test, through the host environment a local run passes on.
const key = process.env.KEY;
mkdirSync("cached", { recursive: true });
const hit = await cache.restoreCache(["cached"], key, ["deps-"]);
const content = existsSync("cached/data.txt") ? readFileSync("cached/data.txt", "utf8").trim() : "-";
console.log("restored " + (hit ?? "nothing") + ": " + content);
if (hit !== key) {
  writeFileSync("cached/data.txt", "saved by " + key + "\\n");
  console.log("saved " + (await cache.saveCache(["cached"], key)));
}
`;

const repo = tempRepo(
  {
    ".github/workflows/ci.yml": [
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: ./toolkit-cache",
      "      - run: test -z \"$ACTIONS_RUNTIME_TOKEN\" && echo 'run steps see no runtime token'",
      "",
    ].join("\n"),
    "toolkit-cache/action.yml":
      "name: t\ninputs:\n  key: {required: true}\nruns:\n  using: node20\n  main: main.mjs\n",
    "toolkit-cache/main.mjs": ACTION_MAIN,
  },
  { git: true },
);
afterAll(() => repo.cleanup());

async function run(key: string): Promise<string[]> {
  process.env.TOOLKIT_CACHE = join(
    import.meta.dirname,
    "..",
    "node_modules",
    "@actions",
    "cache",
    "lib",
    "cache.js",
  );
  process.env.KEY = key;
  const result = await runCli(["--cwd", repo.dir, "run", "--json"]);
  const texts = result.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => (JSON.parse(l) as { text?: string }).text ?? "");
  expect(result.code, texts.join("\n")).toBe(0);
  return texts.filter((t) => /^(restored|saved|run steps)/.test(t));
}

describe("@actions/cache against Trunkline's cache service", () => {
  test("saves in one run, restores in the next: exact keys and restore keys", async () => {
    expect(await run("deps-1")).toEqual([
      "restored nothing: -",
      expect.stringMatching(/^saved \d+$/),
      "run steps see no runtime token",
    ]);
    expect(await run("deps-1")).toEqual([
      "restored deps-1: saved by deps-1",
      "run steps see no runtime token",
    ]);
    // Another key: the newest entry its restore key prefixes comes back, and it saves its own.
    expect(await run("deps-2")).toEqual([
      "restored deps-1: saved by deps-1",
      expect.stringMatching(/^saved \d+$/),
      "run steps see no runtime token",
    ]);
  });
});

describe("@actions/cache on the server's runner", () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("a job's cache comes back in the next run of the same repository, and only there", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "trunkline-toolkit-server-"));
    const jobsDir = mkdtempSync(join(tmpdir(), "trunkline-toolkit-jobs-"));
    dirs.push(dataDir, jobsDir);
    const server = await startServerProcess({ dataDir, extraArgs: ["--jobs-dir", jobsDir] });
    children.push(server.child);
    const api = serverApi(() => server);
    await api("POST", "/api/v1/repositories", { name: "app" });
    // The job's processes get only the runner's environment: the library's place is written
    // into the action.
    const toolkit = join(
      import.meta.dirname,
      "..",
      "node_modules",
      "@actions",
      "cache",
      "lib",
      "cache.js",
    );
    const files = {
      ".github/workflows/ci.yml": [
        "on: push",
        "env: { KEY: deps-1 }",
        "jobs:",
        "  build:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - uses: actions/checkout@v4",
        "      - uses: ./toolkit-cache",
        "",
      ].join("\n"),
      "toolkit-cache/action.yml": "name: t\nruns:\n  using: node20\n  main: main.mjs\n",
      "toolkit-cache/main.mjs": ACTION_MAIN.replace(
        "process.env.TOOLKIT_CACHE",
        JSON.stringify(toolkit),
      ),
    };
    const { dir: work } = await committed(files, "first");
    dirs.push(work);
    const lines = async (expected: number) => {
      const run = await waitFor("the run", async () => {
        const runs = (await api("GET", "/api/v1/repositories/app/runs")) as {
          id: string;
          status: string;
        }[];
        const done = runs.filter((r) => r.status !== "queued" && r.status !== "in_progress");
        return runs.length === expected && done.length === expected ? runs[0] : undefined;
      });
      const shown = (await api("GET", `/api/v1/runs/${run?.id}`)) as { jobs: { id: string }[] };
      const log = (
        (await api("GET", `/api/v1/jobs/${shown.jobs[0]?.id}/logs`)) as { lines: string[] }
      ).lines;
      expect(run?.status, log.join("\n")).toBe("success");
      return log.filter((l) => /^(restored|saved)/.test(l));
    };
    await git(work, "push", "-q", server.gitUrl("app"), "main");
    expect(await lines(1)).toEqual(["restored nothing: -", expect.stringMatching(/^saved \d+$/)]);
    await git(work, "commit", "-q", "--allow-empty", "-m", "second");
    await git(work, "push", "-q", server.gitUrl("app"), "main");
    expect(await lines(2)).toEqual(["restored deps-1: saved by deps-1"]);
    // Another repository on the same runner sees none of it.
    await api("POST", "/api/v1/repositories", { name: "other" });
    await git(work, "push", "-q", server.gitUrl("other"), "main");
    const other = await waitFor("the other run", async () => {
      const [run] = (await api("GET", "/api/v1/repositories/other/runs")) as {
        id: string;
        status: string;
      }[];
      return run && run.status !== "queued" && run.status !== "in_progress" ? run : undefined;
    });
    const shown = (await api("GET", `/api/v1/runs/${other.id}`)) as { jobs: { id: string }[] };
    const log = (
      (await api("GET", `/api/v1/jobs/${shown.jobs[0]?.id}/logs`)) as { lines: string[] }
    ).lines;
    expect(log).toContain("restored nothing: -");
  });
});

describe("caches shared by a server's runners", () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("what a job on one agent saves, with the toolkit or the built-in action, a job on another restores", async () => {
    const temp = (prefix: string) => {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    };
    const server = await startServerProcess({
      dataDir: temp("trunkline-shared-cache-server-"),
      extraArgs: ["--runner-capacity", "0"],
    });
    children.push(server.child);
    for (const label of ["first", "second"]) {
      children.push(await startAgent(server, label, temp(`trunkline-shared-cache-${label}-`)));
    }
    const api = serverApi(() => server);
    await api("POST", "/api/v1/repositories", { name: "app" });
    const toolkit = join(
      import.meta.dirname,
      "..",
      "node_modules",
      "@actions",
      "cache",
      "lib",
      "cache.js",
    );
    const workflow = (label: string) =>
      [
        "on: push",
        "env: { KEY: deps-1 }",
        "jobs:",
        "  build:",
        `    runs-on: ${label}`,
        "    steps:",
        "      - uses: actions/checkout@v4",
        "      - uses: ./toolkit-cache",
        "      - uses: actions/cache@v4",
        "        with: { path: built, key: built-1 }",
        "      - run: |",
        '          test -f built/marker && echo "built-in restored: $(cat built/marker)" && exit 0',
        `          mkdir -p built && echo ${label} > built/marker && echo 'built-in saved'`,
        "",
      ].join("\n");
    const { dir: work } = await committed(
      {
        ".github/workflows/ci.yml": workflow("first"),
        "toolkit-cache/action.yml": "name: t\nruns:\n  using: node20\n  main: main.mjs\n",
        "toolkit-cache/main.mjs": ACTION_MAIN.replace(
          "process.env.TOOLKIT_CACHE",
          JSON.stringify(toolkit),
        ),
      },
      "first",
    );
    dirs.push(work);
    const lines = async (count: number) => {
      const run = await finishedRun(api, "app", count);
      const log = run.logs.build ?? [];
      expect(run.status, log.join("\n")).toBe("success");
      return log.filter((l) => /^(restored|saved|built-in)/.test(l));
    };
    await git(work, "push", "-q", server.gitUrl("app"), "main");
    expect(await lines(1)).toEqual([
      "restored nothing: -",
      expect.stringMatching(/^saved \d+$/),
      "built-in saved",
    ]);
    writeFileSync(join(work, ".github/workflows/ci.yml"), workflow("second"));
    await git(work, "commit", "-q", "-am", "second");
    await git(work, "push", "-q", server.gitUrl("app"), "main");
    expect(await lines(2)).toEqual([
      "restored deps-1: saved by deps-1",
      "built-in restored: first",
    ]);
  }, 120_000);
});
