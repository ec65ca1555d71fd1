import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAgent } from "./helpers/agent-process.js";
import { jsonTexts, runCli } from "./helpers/capture.js";
import { committed, git } from "./helpers/git.js";
import { type PythonDist, startPythonDist, writeWheel } from "./helpers/python-dist.js";
import { finishedRun, serverApi } from "./helpers/server-api.js";
import { startServerProcess } from "./helpers/server-process.js";

// A Python package as real ones are laid out, its workflow unchanged: setup-python (from a
// stand-in for GitHub's Python builds, installed into a fresh tool cache), pip install from
// requirements.txt (a vendored wheel: there is no PyPI here), unittest. Locally and on a
// server's agent, with the same results.

const WORKFLOW = [
  "on: push",
  "jobs:",
  "  test:",
  "    runs-on: ubuntu-latest",
  "    steps:",
  "      - uses: actions/checkout@v4",
  "      - uses: actions/setup-python@v5",
  "        id: python",
  "        with:",
  "          python-version: '3.11'",
  "          cache: pip",
  "      - run: python -m pip install -r requirements.txt",
  "      - run: python -m unittest -v",
  '      - run: echo "python ${{ steps.python.outputs.python-version }} at $pythonLocation, $(python --version)"',
  "",
].join("\n");

const dirs: string[] = [];
const children: ChildProcess[] = [];
let dist: PythonDist;
let work = "";

const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  dist = await startPythonDist();
  const repo = await committed(
    {
      ".github/workflows/ci.yml": WORKFLOW,
      "requirements.txt": "--no-index\n--find-links vendor\ngreet-util==1.0\n",
      "app/__init__.py":
        "from greet_util import greet\n\n\ndef welcome(name):\n    return greet(name) + '!'\n",
      "tests/__init__.py": "",
      "tests/test_app.py": [
        "import unittest",
        "from app import welcome",
        "",
        "class WelcomeTest(unittest.TestCase):",
        "    def test_welcome(self):",
        "        self.assertEqual(welcome('ada'), 'hello, ada!')",
        "",
      ].join("\n"),
    },
    "app",
  );
  work = repo.dir;
  dirs.push(work);
  await writeWheel(join(work, "vendor", "greet_util-1.0-py3-none-any.whl"), "greet_util", "1.0", {
    "greet_util/__init__.py": "def greet(name):\n    return 'hello, ' + name\n",
  });
  await git(work, "add", "-A");
  await git(work, "commit", "-q", "-m", "vendor");
});

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await dist.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The lines of a job's log that say what the package's steps did. */
const telling = (lines: readonly string[]) =>
  lines.filter((l) =>
    /^(Successfully set up CPython|Download from|Successfully installed|test_welcome|OK$|python 3)/.test(
      l,
    ),
  );

describe("a Python package", () => {
  test("runs unchanged locally: setup-python installs from the source once, the tool cache serves it after", async () => {
    const saved = process.env.XDG_STATE_HOME;
    process.env.XDG_STATE_HOME = tempDir("trunkline-python-state-");
    try {
      const run = async () => {
        const result = await runCli([
          "--cwd",
          work,
          "run",
          "--json",
          "--python-source",
          dist.manifest,
        ]);
        const texts = jsonTexts(result);
        expect(result.code, `${texts.join("\n")}\n${result.stderr}`).toBe(0);
        return telling(texts);
      };
      const toolCache = join(process.env.XDG_STATE_HOME, "trunkline", "tool-cache");
      const first = await run();
      expect(first).toEqual([
        expect.stringMatching(/^Download from "http:\/\/127\.0\.0\.1:\d+\/download\/python-/),
        `Successfully set up CPython (${dist.version})`,
        "Successfully installed greet-util-1.0",
        expect.stringMatching(
          /^test_welcome \(tests\.test_app\.WelcomeTest\.test_welcome\) \.\.\. ok$/,
        ),
        "OK",
        `python ${dist.version} at ${toolCache}/Python/${dist.version}/x64, Python ${dist.version}`,
      ]);
      const downloads = dist.requests.filter((r) => r.startsWith("/download/")).length;
      expect(downloads).toBe(1);
      // The tool cache's Python is the machine's, as on a self-hosted GitHub runner: what the
      // first run installed into it is there for the second.
      const second = await run();
      expect(second).toEqual([first[1], ...first.slice(3)]);
      expect(dist.requests.filter((r) => r.startsWith("/download/")).length).toBe(downloads);
    } finally {
      if (saved === undefined) delete process.env.XDG_STATE_HOME;
      else process.env.XDG_STATE_HOME = saved;
    }
  }, 120_000);

  test("runs unchanged on a server's agent, with the same results", async () => {
    const server = await startServerProcess({
      dataDir: tempDir("trunkline-python-server-"),
      extraArgs: ["--runner-capacity", "0"],
    });
    children.push(server.child);
    const agentDir = tempDir("trunkline-python-agent-");
    children.push(
      await startAgent(server, "ubuntu-latest", agentDir, {
        extraArgs: ["--python-source", dist.manifest],
      }),
    );
    const api = serverApi(() => server);
    await api("POST", "/api/v1/repositories", { name: "app" });
    await git(work, "push", "-q", server.gitUrl("app"), "main");
    const run = await finishedRun(api, "app");
    const lines = Object.values(run.logs).flat();
    expect(run.status, lines.join("\n")).toBe("success");
    expect(telling(lines)).toEqual([
      expect.stringMatching(/^Download from "http:\/\/127\.0\.0\.1:\d+\/download\/python-/),
      `Successfully set up CPython (${dist.version})`,
      "Successfully installed greet-util-1.0",
      expect.stringMatching(
        /^test_welcome \(tests\.test_app\.WelcomeTest\.test_welcome\) \.\.\. ok$/,
      ),
      "OK",
      expect.stringMatching(
        new RegExp(
          `^python ${dist.version} at /\\S+/tool-cache/Python/${dist.version}/x64, Python ${dist.version}$`,
        ),
      ),
    ]);
  }, 120_000);
});
