import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAgent } from "./helpers/agent-process.js";
import { runCli } from "./helpers/capture.js";
import { committed, git } from "./helpers/git.js";
import { type GitHost, startGitHost } from "./helpers/git-host.mjs";
import { finishedRun, serverApi, waitFor } from "./helpers/server-api.js";
import { startServerProcess } from "./helpers/server-process.js";
import { tempRepo } from "./helpers/temp-repo.js";

// Remote actions from where they live: a local git smart-HTTP server stands in for
// github.com with action repositories the tests publish. Locally `trunkline run` fetches
// them; on the server only the server does, and agents fetch from it.

const NODE_ACTION = (main: string) =>
  `name: n\ninputs:\n  name: {default: nobody}\noutputs:\n  said: {description: d}\nruns:\n  using: node20\n  main: ${main}\n`;
const HELLO_JS = `const fs = require("node:fs");
fs.appendFileSync(process.env.GITHUB_OUTPUT, "said=hello " + process.env.INPUT_NAME + "\\n");
console.log("hello from " + process.env.GITHUB_ACTION_REPOSITORY + "@" + process.env.GITHUB_ACTION_REF);
`;

const WORKFLOW = (pinned: string) => `name: CI
on: push
jobs:
  use:
    runs-on: ubuntu-latest
    steps:
      - id: hello
        uses: acme/hello@v1
        with: {name: world}
      - run: test "\${{ steps.hello.outputs.said }}" = "hello world"
      - uses: acme/wrap@v1
      - id: pinned
        uses: acme/hello@${pinned}
        with: {name: pinned}
      - run: test "\${{ steps.pinned.outputs.said }}" = "hello pinned"
`;

const children: ChildProcess[] = [];
const dirs: string[] = [];
let host: GitHost;
let hello: string;
beforeAll(async () => {
  host = await startGitHost();
  hello = host.publish(
    "acme/hello",
    { "action.yml": NODE_ACTION("index.js"), "index.js": HELLO_JS },
    ["v1"],
  );
  host.publish(
    "acme/wrap",
    {
      "action.yml":
        "name: w\nruns:\n  using: composite\n  steps:\n    - uses: acme/inner@v1\n    - run: echo wrapped\n      shell: bash\n",
    },
    ["v1"],
  );
  host.publish(
    "acme/inner",
    { "action.yml": NODE_ACTION("inner.js"), "inner.js": 'console.log("inner ran");\n' },
    ["v1"],
  );
});
afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await host.close();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

interface Event {
  type: string;
  job?: string;
  text?: string;
  status?: string;
  reason?: string;
  name?: string;
}

async function runLocally(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; events: Event[] }> {
  const result = await runCli(["--cwd", cwd, "run", "--json", "--actions-url", host.url, ...args]);
  const events = result.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Event);
  return { code: result.code, events };
}

const logOf = (events: Event[], job: string) =>
  events.filter((e) => e.type === "log" && e.job?.endsWith(` / ${job}`)).map((e) => e.text ?? "");

describe("remote actions", () => {
  test("a local run fetches every action before the first step (composite ones too), once per commit", async () => {
    process.env.XDG_STATE_HOME = tempDir("trunkline-state-");
    const repo = tempRepo({ ".github/workflows/ci.yml": WORKFLOW(hello) }, { git: true });
    dirs.push(repo.dir);
    const first = await runLocally(repo.dir);
    const log = logOf(first.events, "use");
    expect(first.code, log.join("\n")).toBe(0);
    // "Set up job" says where each came from, before any step started.
    const setup = log.filter((l) => /action repository/.test(l));
    expect(setup).toEqual(
      expect.arrayContaining([
        `Download action repository 'acme/hello@v1' (SHA:${hello})`,
        expect.stringMatching(/^Download action repository 'acme\/wrap@v1' \(SHA:[0-9a-f]{40}\)$/),
        expect.stringMatching(/^Download action repository 'acme\/inner@v1' \(SHA:[0-9a-f]{40}\)$/),
      ]),
    );
    const firstStep = first.events.findIndex(
      (e) => e.type === "step.started" && e.job?.endsWith(" / use"),
    );
    const lastSetup = first.events.findLastIndex(
      (e) => e.type === "log" && /action repository/.test(e.text ?? ""),
    );
    expect(lastSetup).toBeLessThan(firstStep);
    expect(log).toContain("hello from acme/hello@v1");
    expect(log).toContain("inner ran");

    // The second run finds every commit in the store: the refs are asked for, nothing fetched.
    const asked = host.requests.length;
    const second = await runLocally(repo.dir);
    expect(second.code).toBe(0);
    expect(logOf(second.events, "use")).toContain(
      `Use action repository 'acme/hello@v1' (SHA:${hello})`,
    );
    expect(host.requests.slice(asked).filter((p) => p.endsWith("/git-upload-pack")).length).toBe(3); // one ls-refs per ref (hello@v1, wrap@v1, inner@v1); the pinned SHA asks nothing
  });

  test("a missing action fails the job before its first step, naming the places tried", async () => {
    process.env.XDG_STATE_HOME = tempDir("trunkline-state-");
    const mirror = tempDir("trunkline-mirror-");
    const repo = tempRepo(
      {
        ".github/workflows/ci.yml": [
          "on: push",
          "jobs:",
          "  broken:",
          "    runs-on: ubuntu-latest",
          "    steps:",
          "      - run: echo the first step ran",
          "      - uses: acme/wrap@v1",
          "      - uses: acme/nothing@v3",
          "",
        ].join("\n"),
      },
      { git: true },
    );
    dirs.push(repo.dir);
    const result = await runLocally(repo.dir, "--action-mirror", mirror);
    expect(result.code).toBe(1);
    expect(logOf(result.events, "broken")).not.toContain("the first step ran");
    const finished = result.events.find(
      (e) => e.type === "job.finished" && e.job?.endsWith(" / broken"),
    );
    expect(finished?.status).toBe("failure");
    expect(finished?.reason).toBe(
      `cannot resolve action 'acme/nothing@v3': acme/nothing@v3 was not found (${join(mirror, "acme", "nothing")}: not there; ${host.url}/acme/nothing: repository '${host.url}/acme/nothing/' not found); tried ${join(mirror, "acme", "nothing")}, ${host.url}/acme/nothing`,
    );
  });

  test("offline: a mirror made by `actions mirror`, and what the store remembers; plan lists every action", async () => {
    process.env.XDG_STATE_HOME = tempDir("trunkline-state-");
    const repo = tempRepo({ ".github/workflows/ci.yml": WORKFLOW(hello) }, { git: true });
    dirs.push(repo.dir);
    const cli = (...args: string[]) => runCli(["--cwd", repo.dir, ...args]);
    // Nothing in the store yet, no mirror: every remote step is an error at its place.
    const empty = await cli("validate", "--offline");
    expect(empty.code).toBe(1);
    expect(empty.stdout).toContain(
      ".github/workflows/ci.yml:8:15: 'acme/hello@v1' cannot be had offline",
    );
    expect(empty.stdout).toContain(
      ".github/workflows/ci.yml:11:15: 'acme/wrap@v1' cannot be had offline",
    );

    const mirror = tempDir("trunkline-mirror-");
    const made = await cli(
      "actions",
      "mirror",
      mirror,
      "acme/hello@v1",
      "acme/wrap",
      "acme/inner@v1",
      "--actions-url",
      host.url,
    );
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain(`acme/hello@v1: ${hello}, in ${join(mirror, "acme", "hello")}`);
    expect((await cli("validate", "--offline", "--action-mirror", mirror)).code).toBe(0);
    const mirrored = await runLocally(repo.dir, "--offline", "--action-mirror", mirror);
    expect(mirrored.code).toBe(0);
    // `validate` put it in the store already.
    expect(logOf(mirrored.events, "use")).toContain(
      `Use action repository 'acme/hello@v1' (SHA:${hello})`,
    );

    // The store remembers what each ref resolved to: offline, it needs no mirror any more.
    expect((await cli("validate", "--offline")).code).toBe(0);
    const planned = await cli("plan", "--json", "--actions-url", host.url);
    const actions = (
      JSON.parse(planned.stdout) as { actions: { uses: string; commit?: string; error?: string }[] }
    ).actions;
    expect(actions.map((a) => [a.uses, a.commit !== undefined, a.error])).toEqual([
      ["acme/hello@v1", true, undefined],
      ["acme/wrap@v1", true, undefined],
      [`acme/hello@${hello}`, true, undefined],
    ]);
    const missing = await cli("plan", "--actions-url", "none");
    expect(missing.stdout).toMatch(/✗ acme\/hello@v1: .*no source serves acme\/hello/);
  });

  test.each([
    ["an agent", true],
    ["the embedded runner", false],
  ])("on the server only the server fetches: %s takes actions from it", async (_, agent) => {
    const dataDir = tempDir("trunkline-actions-server-");
    const jobsDir = tempDir("trunkline-actions-jobs-");
    const server = await startServerProcess({
      dataDir,
      extraArgs: agent
        ? ["--runner-capacity", "0", "--actions-url", host.url]
        : ["--jobs-dir", jobsDir, "--actions-url", host.url],
    });
    children.push(server.child);
    // The agent is told of no source: its only way to the actions is the server.
    if (agent)
      children.push(
        await startAgent(server, "linux", tempDir("trunkline-actions-agent-"), {
          extraArgs: ["--jobs-dir", jobsDir],
        }),
      );
    const api = serverApi(() => server);
    await api("POST", "/api/v1/repositories", { name: "app" });
    const { dir: work } = await committed(
      {
        ".github/workflows/ci.yml": agent
          ? WORKFLOW(hello).replace("ubuntu-latest", "linux")
          : WORKFLOW(hello),
      },
      "ci",
    );
    dirs.push(work);
    await git(work, "push", "-q", server.gitUrl("app"), "main");
    const run = await waitFor("the run", async () => {
      const [r] = (await api("GET", "/api/v1/repositories/app/runs")) as {
        id: string;
        status: string;
      }[];
      return r && r.status !== "queued" && r.status !== "in_progress" ? r : undefined;
    });
    const shown = (await api("GET", `/api/v1/runs/${run.id}`)) as { jobs: { id: string }[] };
    const log = (
      (await api("GET", `/api/v1/jobs/${shown.jobs[0]?.id}/logs`)) as { lines: string[] }
    ).lines;
    expect(run.status, log.join("\n")).toBe("success");
    expect(log).toContain(`Download action repository 'acme/hello@v1' (SHA:${hello})`);
    expect(log).toContain("inner ran");
    // The server keeps what it fetched; the agent's store holds the trees it ran.
    expect(readdirSync(join(dataDir, "actions", "git", "acme")).sort()).toEqual([
      "hello.git",
      "inner.git",
      "wrap.git",
    ]);
    const runnerDir = agent ? jobsDir : join(jobsDir, readdirSync(jobsDir)[0] ?? "");
    expect(
      existsSync(join(runnerDir, "actions", "trees", "acme", "hello", hello, "index.js")),
    ).toBe(true);
  });

  test("a host that wants a token gets it from a secret: the run's locally, the organisation's on the server", async () => {
    const guarded = await startGitHost({ token: "pr1vate-t0ken" });
    try {
      const sha = guarded.publish(
        "acme/private",
        { "action.yml": NODE_ACTION("index.js"), "index.js": HELLO_JS },
        ["v1"],
      );
      const workflow = [
        "on: push",
        "jobs:",
        "  use:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - uses: acme/private@v1",
        "",
      ].join("\n");
      const repo = tempRepo({ ".github/workflows/ci.yml": workflow }, { git: true });
      dirs.push(repo.dir);
      process.env.XDG_STATE_HOME = tempDir("trunkline-state-");
      const local = (...args: string[]) =>
        runCli(["--cwd", repo.dir, "run", "--json", "--actions-url", guarded.url, ...args]);
      expect((await local()).code).not.toBe(0);
      const withSecret = await local("--secret", "TRUNKLINE_ACTIONS_TOKEN=pr1vate-t0ken");
      expect(withSecret.code, withSecret.stdout).toBe(0);
      expect(withSecret.stdout).toContain("hello from acme/private@v1");

      const dataDir = tempDir("trunkline-actions-token-server-");
      const start = () =>
        startServerProcess({
          dataDir,
          extraArgs: [
            "--jobs-dir",
            tempDir("trunkline-actions-token-jobs-"),
            "--actions-url",
            guarded.url,
          ],
        });
      const first = await start();
      children.push(first.child);
      const firstApi = serverApi(() => first);
      await firstApi("PUT", "/api/v1/secrets/TRUNKLINE_ACTIONS_TOKEN", { value: "pr1vate-t0ken" });
      first.child.kill("SIGTERM");
      await new Promise((resolve) => first.child.once("exit", resolve));
      // Read when the server starts.
      const server = await start();
      children.push(server.child);
      const api = serverApi(() => server);
      await api("POST", "/api/v1/repositories", { name: "app" });
      const { dir: work } = await committed({ ".github/workflows/ci.yml": workflow }, "ci");
      dirs.push(work);
      await git(work, "push", "-q", server.gitUrl("app"), "main");
      const run = await finishedRun(api, "app");
      expect(run.status, JSON.stringify(run.logs)).toBe("success");
      expect(run.logs.use).toContain(`Download action repository 'acme/private@v1' (SHA:${sha})`);
      expect(run.logs.use).toContain("hello from acme/private@v1");
    } finally {
      await guarded.close();
    }
  }, 120_000);
});
