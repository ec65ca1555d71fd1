import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { committed, git } from "./helpers/git.js";
import { finishedRun, serverApi } from "./helpers/server-api.js";
import { startServerProcess } from "./helpers/server-process.js";

// Each job's GITHUB_TOKEN works with the server's git for its own repository, with the
// workflow's `contents` permission, as GitHub's does: a release job tags and pushes, a
// read-only job may fetch but not push, no job reaches another repository, and a push made
// with a job's token starts no runs.

const AUTH = `auth="AUTHORIZATION: basic $(printf 'x-access-token:%s' "\${{ secrets.GITHUB_TOKEN }}" | base64 -w0)"`;

const WORKFLOW = [
  "on: push",
  "jobs:",
  "  release:",
  "    if: github.ref == 'refs/heads/main'",
  "    runs-on: ubuntu-latest",
  "    permissions: { contents: write }",
  "    steps:",
  "      - run: |",
  `          ${AUTH}`,
  '          git -c http.extraheader="$auth" clone -q "$GITHUB_SERVER_URL/git/app.git" copy',
  "          cd copy && git -c user.name=ci -c user.email=ci@example.com tag -a v9 -m release",
  '          git -c http.extraheader="$auth" push -q origin v9',
  '          echo "tagged v9 with ${{ github.token }}"',
  "      - run: |",
  '          curl -s -H "Authorization: Bearer $GH" "$GITHUB_API_URL/repositories/app/runs"; echo',
  "        env: { GH: '${{ github.token }}' }",
  "      - run: |",
  `          ${AUTH}`,
  '          git -c http.extraheader="$auth" ls-remote "$GITHUB_SERVER_URL/git/other.git" 2>&1 || true',
  "      - run: |",
  `          ${AUTH}`,
  "          cd copy && echo 'on: push' > .github/workflows/planted.yml && git add -A",
  "          git -c user.name=ci -c user.email=ci@example.com commit -qm plant",
  '          git -c http.extraheader="$auth" push -q origin HEAD:refs/heads/planted 2>&1 || true',
  "  read-only:",
  "    runs-on: ubuntu-latest",
  "    permissions: { contents: read, actions: read }",
  "    steps:",
  "      - run: |",
  '          api() { curl -s -H "Authorization: Bearer ${{ secrets.GITHUB_TOKEN }}" "$GITHUB_API_URL/$1"; echo; }',
  '          api repositories/app/runs | grep -q \'"number":1\' && echo "listed its runs"',
  "          api repositories/other/runs",
  "          api repositories/app/secrets",
  "          api runs",
  "      - run: |",
  `          ${AUTH}`,
  '          git -c http.extraheader="$auth" clone -q "$GITHUB_SERVER_URL/git/app.git" copy && echo cloned',
  "          cd copy && git tag v8",
  '          git -c http.extraheader="$auth" push -q origin v8 2>&1 || true',
  "",
].join("\n");

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe("a job's GITHUB_TOKEN", () => {
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

  test("fetches and pushes its repository as its permissions allow, and nothing else", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = await startServerProcess({
      dataDir: tempDir("trunkline-token-server-"),
      extraArgs: [
        "--port",
        String(port),
        "--server-url",
        url,
        "--jobs-dir",
        tempDir("trunkline-token-jobs-"),
      ],
    });
    children.push(server.child);
    const api = serverApi(() => server);
    await api("POST", "/api/v1/repositories", { name: "app" });
    await api("POST", "/api/v1/repositories", { name: "other" });
    const { dir: work } = await committed({ ".github/workflows/ci.yml": WORKFLOW }, "ci");
    dirs.push(work);
    await git(work, "push", "-q", server.gitUrl("app"), "main");
    const run = await finishedRun(api, "app");
    const { logs } = run;
    expect(run.status, JSON.stringify(logs, null, 2)).toBe("success");
    expect(logs.release).toContain("tagged v9 with ***");
    expect(logs.release).toContainEqual(
      expect.stringContaining(
        "this job's GITHUB_TOKEN has actions: none; this needs actions: read",
      ),
    );
    expect(logs.release).toContainEqual(
      expect.stringContaining("this job's GITHUB_TOKEN is for repository 'app', not 'other'"),
    );
    expect(logs["read-only"]).toContain("cloned");
    expect(logs["read-only"]).toContain("listed its runs");
    expect(logs["read-only"]).toContainEqual(
      expect.stringContaining("a job's GITHUB_TOKEN reaches only its repository's runs"),
    );
    expect(logs["read-only"]).toContainEqual(
      expect.stringContaining(
        "a job's GITHUB_TOKEN reaches only its repository's routes (/api/v1/repositories/app/...)",
      ),
    );
    expect(logs["read-only"]).toContainEqual(
      expect.stringContaining(
        "this job's GITHUB_TOKEN has contents: read: pushing needs contents: write",
      ),
    );
    // The tag is on the server; pushing it started no run (`on: push` takes tags too).
    const refs = (await git(work, "ls-remote", server.gitUrl("app"))).stdout;
    expect(refs).toMatch(/refs\/tags\/v9$/m);
    expect(refs).not.toMatch(/refs\/tags\/v8/);
    // Nor may a job's token plant a workflow.
    expect(refs).not.toMatch(/refs\/heads\/planted/);
    expect(logs.release).toContainEqual(
      expect.stringContaining("a job's GITHUB_TOKEN cannot change .github/workflows"),
    );
    const runs = (await api("GET", "/api/v1/repositories/app/runs")) as unknown[];
    expect(runs).toHaveLength(1);
  }, 120_000);
});
