import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { startAgent } from "./helpers/agent-process.js";
import { jsonTexts, runCli } from "./helpers/capture.js";
import { committed, git } from "./helpers/git.js";
import { finishedRun, serverApi } from "./helpers/server-api.js";
import { startServerProcess } from "./helpers/server-process.js";
import { tempRepo } from "./helpers/temp-repo.js";
import { DOWNLOAD_MAIN, UPLOAD_MAIN } from "./helpers/toolkit-actions.js";

// Unmodified actions built on the toolkit: node actions written here that use @actions/artifact
// from npm (what upload-artifact@v4, download-artifact@v4 and every action that uploads
// reports bundle) upload in one job and download in the next, through Trunkline's artifact
// service, beside the built-in upload and download actions, which share its store.

const repo = tempRepo(
  {
    ".github/workflows/ci.yml": [
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: ./upload",
      "      - run: mkdir -p out && echo 'built-in report' > out/report.txt",
      "      - uses: actions/upload-artifact@v4",
      "        with: { name: report, path: out/report.txt }",
      "  deploy:",
      "    needs: build",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: ./download",
      "      - run: cat got/dist/app.js got/dist/sub/data.txt got/report/report.txt",
      "      - uses: actions/download-artifact@v4",
      "        with: { name: dist, path: builtin }",
      '      - run: echo "built-in download, $(cat builtin/sub/data.txt)"',
      "",
    ].join("\n"),
    "upload/action.yml": "name: up\nruns:\n  using: node20\n  main: main.mjs\n",
    "upload/main.mjs": UPLOAD_MAIN,
    "download/action.yml": "name: down\nruns:\n  using: node20\n  main: main.mjs\n",
    "download/main.mjs": DOWNLOAD_MAIN,
  },
  { git: true },
);
afterAll(() => repo.cleanup());

describe("@actions/artifact against Trunkline's artifact service", () => {
  test("a toolkit upload is downloaded by the toolkit and by the built-in action, and back", async () => {
    const result = await runCli(["--cwd", repo.dir, "run", "--json"]);
    const texts = jsonTexts(result);
    expect(result.code, `${texts.join("\n")}\n${result.stderr}`).toBe(0);
    expect(
      texts.filter((t) => /^(uploaded|listed|downloaded|built on|data from|built-in)/.test(t)),
    ).toEqual([
      "uploaded dist: id 1, digest yes",
      "listed dist, report",
      "downloaded dist",
      "downloaded report",
      "built on build",
      "data from build",
      "built-in report",
      "built-in download, data from build",
    ]);
  });
});

describe("@actions/artifact on the server, across agents", () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };

  test.each([
    ["on two agents", true],
    ["on the embedded runner", false],
  ])(
    "a build job uploads; a deploy job downloads it from the server: %s",
    async (_, agents) => {
      const server = await startServerProcess({
        dataDir: tempDir("trunkline-artifact-server-"),
        extraArgs: agents
          ? ["--runner-capacity", "0"]
          : ["--jobs-dir", tempDir("trunkline-artifact-jobs-")],
      });
      children.push(server.child);
      for (const label of agents ? ["builder", "deployer"] : []) {
        children.push(await startAgent(server, label, tempDir(`trunkline-artifact-${label}-`)));
      }
      const runsOn = (label: string) => (agents ? label : "ubuntu-latest");
      const api = serverApi(() => server);
      await api("POST", "/api/v1/repositories", { name: "app" });
      const { dir: work } = await committed(
        {
          ".github/workflows/ci.yml": [
            "on: push",
            "jobs:",
            "  build:",
            `    runs-on: ${runsOn("builder")}`,
            "    steps:",
            "      - uses: actions/checkout@v4",
            "      - uses: ./upload",
            "      - run: mkdir -p out && echo 'built-in report' > out/report.txt",
            "      - uses: actions/upload-artifact@v4",
            "        with: { name: report, path: out/report.txt }",
            "  deploy:",
            "    needs: build",
            `    runs-on: ${runsOn("deployer")}`,
            "    steps:",
            "      - uses: actions/checkout@v4",
            "      - uses: ./download",
            "      - run: cat got/dist/app.js got/dist/sub/data.txt got/report/report.txt",
            "      - uses: actions/download-artifact@v4",
            "        with: { name: dist, path: builtin }",
            '      - run: echo "built-in download, $(cat builtin/sub/data.txt)"',
            "",
          ].join("\n"),
          "upload/action.yml": "name: up\nruns:\n  using: node20\n  main: main.mjs\n",
          "upload/main.mjs": UPLOAD_MAIN,
          "download/action.yml": "name: down\nruns:\n  using: node20\n  main: main.mjs\n",
          "download/main.mjs": DOWNLOAD_MAIN,
        },
        "ci",
      );
      dirs.push(work);
      await git(work, "push", "-q", server.gitUrl("app"), "main");
      const run = await finishedRun(api, "app");
      const { logs } = run;
      expect(run.status, JSON.stringify(logs, null, 2)).toBe("success");
      const wanted = /^(uploaded|listed|downloaded|built on|data from|built-in)/;
      expect(logs.build?.filter((l) => wanted.test(l))).toEqual([
        "uploaded dist: id 1, digest yes",
      ]);
      expect(logs.deploy?.filter((l) => wanted.test(l))).toEqual([
        "listed dist, report",
        "downloaded dist",
        "downloaded report",
        "built on build",
        "data from build",
        "built-in report",
        "built-in download, data from build",
      ]);
      // The API lists both, in GitHub's shape, and serves each as the zip the job uploaded.
      const listed = (await api("GET", `/api/v1/runs/${run.id}/artifacts`)) as {
        total_count: number;
        artifacts: { id: number; name: string; digest: string; archive_download_url: string }[];
      };
      expect(listed.total_count).toBe(2);
      expect(listed.artifacts.map((a) => a.name)).toEqual(["dist", "report"]);
      const report = listed.artifacts[1];
      const zip = await fetch(report?.archive_download_url ?? "", {
        headers: { authorization: `Bearer ${server.token}` },
      });
      expect(zip.headers.get("content-type")).toBe("application/zip");
      const bytes = Buffer.from(await zip.arrayBuffer());
      expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(report?.digest);
      expect((await fetch(report?.archive_download_url ?? "")).status).toBe(401);
      // The CLI lists and downloads them, as `gh run download` does.
      const cli = (...args: string[]) =>
        runCli(["runs", ...args, "--server", server.base, "--token", server.token]);
      const json = await cli("artifacts", "app#1", "--json");
      expect((JSON.parse(json.stdout) as { name: string }[]).map((a) => a.name)).toEqual([
        "dist",
        "report",
      ]);
      const into = tempDir("trunkline-artifact-download-");
      expect((await cli("download", "app#1", "--dir", into)).code).toBe(0);
      expect(readFileSync(join(into, "dist", "sub", "data.txt"), "utf8")).toBe("data from build\n");
      expect(readFileSync(join(into, "report", "report.txt"), "utf8")).toBe("built-in report\n");
      const one = tempDir("trunkline-artifact-one-");
      expect((await cli("download", "app#1", "--name", "dist", "--dir", one)).code).toBe(0);
      expect(readFileSync(join(one, "app.js"), "utf8")).toBe("built on build\n");
      const missing = await cli("download", "app#1", "--name", "nope");
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain(
        "--name nope: .github/workflows/ci.yml #1 has no such artifact (it has dist, report)",
      );
    },
    120_000,
  );
});
