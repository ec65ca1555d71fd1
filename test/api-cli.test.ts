import { mkdtempSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openStore, type Store } from "../src/store/open-store.js";
import { runCli } from "./helpers/capture.js";
import { sqliteDatabase, type TestDatabase } from "./helpers/databases.js";
import { committed, git } from "./helpers/git.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const CI = `name: CI
on:
  push:
  schedule:
    - cron: "0 3 * * *"
  workflow_dispatch:
    inputs:
      greeting: { type: string, required: true }
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "hello \${{ inputs.greeting || 'push' }}"
  check:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: test -f "$MARKER" || { echo "no marker yet"; exit 1; }
        env: { MARKER: "\${{ vars.MARKER }}" }
`;

describe("the CLI against a server's API", () => {
  let database: TestDatabase;
  let store: Store;
  let server: TestServer;
  let flags: string[];
  const marker = join(mkdtempSync(join(tmpdir(), "trunkline-cli-")), "marker");

  beforeAll(async () => {
    database = sqliteDatabase();
    store = await openStore(database.options);
    server = await startTestServer(store);
    flags = ["--server", server.base, "--token", server.tokens.admin];
  });
  afterAll(async () => {
    await server.close();
    await store.close();
    await database.drop();
  });

  test("repo create and list; a push's runs are listed, shown and their logs read", async () => {
    const created = await runCli(["repo", "create", "shop", ...flags]);
    expect(created.code).toBe(0);
    expect(created.stderr).toBe(
      `trunkline: created shop; push to it with: git push ${server.base}/git/shop.git main`,
    );
    expect((await runCli(["repo", "create", "shop", ...flags])).stderr).toBe(
      "trunkline: POST /api/v1/repositories: repository 'shop' exists",
    );
    const listed = await runCli(["repo", "list", "--json", ...flags]);
    expect(JSON.parse(listed.stdout).map((r: { name: string }) => r.name)).toEqual(["shop"]);

    const { dir } = await committed(
      {
        ".github/workflows/ci.yml": CI,
        ".trunkline/config.yml": `variables:\n  MARKER: ${marker}\n`,
      },
      "ci",
    );
    await git(dir, "push", "-q", server.gitUrl("shop"), "main");
    await server.service.idle();

    const schedules = await runCli(["schedules", "shop", ...flags]);
    expect(schedules.stdout).toMatch(
      /^\.github\/workflows\/ci\.yml {2}0 3 \* \* \* {2}next \d{4}-\d\d-\d\dT03:00:00\.000Z$/,
    );
    const runs = await runCli(["runs", "list", "shop", ...flags]);
    expect(runs.stdout).toMatch(/^#1 {2}✗ failure {2}CI {2}push {2}main {2}[0-9a-f]{7} /);
    const shown = await runCli(["runs", "show", "shop#1", ...flags]);
    expect(shown.stdout.split("\n").slice(0, 1)).toEqual(["CI #1  ✗ failure"]);
    expect(shown.stdout).toMatch(/✓ success {2}build/);
    expect(shown.stdout).toMatch(/✗ failure {2}check/);
    const logs = await runCli(["runs", "logs", "shop#1", "--job", "check", ...flags]);
    expect(logs.stdout).toContain("── check (failure) ──");
    expect(logs.stdout).toContain("no marker yet");
    expect(logs.stdout).not.toContain("hello push");
    expect((await runCli(["runs", "show", "shop#x", ...flags])).stderr).toBe(
      "trunkline: run 'shop#x': expected REPO#NUMBER (like app#12) or a run id",
    );
    expect((await runCli(["runs", "show", "shop#9", ...flags])).stderr).toBe(
      "trunkline: GET /api/v1/repositories/shop/runs/9: no run #9 in shop",
    );
  });

  test("rerun --failed, then logs -f follows the new attempt to its end", async () => {
    writeFileSync(marker, "");
    const rerun = await runCli(["runs", "rerun", "shop#1", "--failed", ...flags]);
    expect(rerun.stderr).toBe(
      "trunkline: CI #1 is running again (attempt 2, failed jobs and their dependants)",
    );
    const followed = await runCli(["runs", "logs", "shop#1", "-f", ...flags]);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain("[check] ✓ success");
    expect(followed.stdout.split("\n").at(-1)).toBe("Run #1 ✓ success");
    const shown = await runCli(["runs", "show", "shop#1", "--json", ...flags]);
    const run = JSON.parse(shown.stdout);
    expect([run.attempt, run.status]).toEqual([2, "success"]);
    expect(
      run.jobs.map((j: { name: string; reason: string | null }) => [j.name, j.reason]),
    ).toEqual([
      ["build", "reused from attempt 1"],
      ["check", null],
    ]);
  });

  test("dispatch with inputs; a missing input is refused with the server's reason", async () => {
    const bad = await runCli(["dispatch", "shop", "ci.yml", ...flags]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      "trunkline: POST /api/v1/repositories/shop/dispatch: .github/workflows/ci.yml: input 'greeting' is required",
    );
    const ok = await runCli([
      "dispatch",
      "shop",
      "ci.yml",
      "--input",
      "greeting=world",
      "--json",
      ...flags,
    ]);
    expect(ok.code).toBe(0);
    const [id] = JSON.parse(ok.stdout).runIds;
    const followed = await runCli(["runs", "logs", id, "-f", "--job", "build", ...flags]);
    expect(followed.stdout).toContain("[build] hello world");
  });

  test("secrets set, list and rm at each scope; values never come back", async () => {
    const valueFile = join(mkdtempSync(join(tmpdir(), "trunkline-secret-")), "value");
    writeFileSync(valueFile, "from-a-file\n");
    for (const scope of [[], ["--repo", "shop"], ["--repo", "shop", "--env", "prod"]]) {
      const set = await runCli([
        "secrets",
        "set",
        "API_KEY",
        "--from-file",
        valueFile,
        ...scope,
        ...flags,
      ]);
      expect(set.code).toBe(0);
      const list = await runCli(["secrets", "list", "--json", ...scope, ...flags]);
      expect(JSON.parse(list.stdout).map((s: { name: string }) => s.name)).toEqual(["API_KEY"]);
      expect(list.stdout).not.toContain("from-a-file");
      expect((await runCli(["secrets", "rm", "API_KEY", ...scope, ...flags])).code).toBe(0);
      expect(
        JSON.parse((await runCli(["secrets", "list", "--json", ...scope, ...flags])).stdout),
      ).toEqual([]);
    }
    expect((await runCli(["secrets", "list", "--env", "prod", ...flags])).stderr).toBe(
      "trunkline: --env needs --repo: environments belong to a repository",
    );
    const viewer = ["--server", server.base, "--token", server.tokens.viewer];
    expect(
      (await runCli(["secrets", "set", "X", "--value", "v", "--repo", "shop", ...viewer])).stderr,
    ).toBe(
      "trunkline: PUT /api/v1/repositories/shop/secrets/X: this needs the maintainer role; the token has viewer",
    );
  });

  test("runners lists registered agents, online or offline; runners rm removes one by id or name", async () => {
    expect((await runCli(["runners", ...flags])).stderr).toContain("no agents registered");
    const register = async (name: string, labels: string[]) => {
      const registered = await fetch(`${server.base}/api/v1/runners`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${server.tokens.maintainer}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ name, labels, capacity: 2 }),
      });
      expect(registered.status).toBe(201);
      return (await registered.json()) as { id: string; token: string };
    };
    const gpu = await register("gpu-box", ["Linux", "GPU"]);
    const old = await register("old-box", ["linux"]);
    // old-box was last seen an hour ago.
    await store.db
      .updateTable("runners")
      .set({ last_seen_at: Date.now() - 3_600_000 })
      .where("id", "=", old.id)
      .execute();
    const listed = await runCli(["runners", ...flags]);
    expect(listed.stdout.split("\n")).toEqual([
      expect.stringMatching(
        new RegExp(
          `^gpu-box {2}online {3}gpu,linux {2}2 at once {2}last seen \\d{4}-\\S+ {2}${gpu.id}$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^old-box {2}offline {2}linux {6}2 at once {2}last seen \\d{4}-\\S+ {2}${old.id}$`,
        ),
      ),
    ]);
    expect((await runCli(["runners", "list", ...flags])).stdout).toBe(listed.stdout);
    const json = JSON.parse((await runCli(["runners", "--json", ...flags])).stdout);
    expect(json.map((r: { name: string; state: string }) => [r.name, r.state])).toEqual([
      ["gpu-box", "online"],
      ["old-box", "offline"],
    ]);

    // Removed by name, then by id; the removed runner's token stops at once.
    expect(await runCli(["runners", "rm", "old-box", ...flags])).toEqual({
      code: 0,
      stdout: "",
      stderr: `trunkline: removed runner old-box (${old.id}); its token no longer works`,
    });
    const claim = await fetch(`${server.base}/api/v1/agent/claim`, {
      method: "POST",
      headers: { authorization: `Bearer ${old.token}`, "content-type": "application/json" },
      body: JSON.stringify({ waitMs: 0 }),
    });
    expect(claim.status).toBe(401);
    expect((await runCli(["runners", "rm", gpu.id, ...flags])).code).toBe(0);
    expect((await runCli(["runners", ...flags])).stderr).toContain("no agents registered");

    const missing = await runCli(["runners", "rm", "gpu-box", ...flags]);
    expect([missing.code, missing.stderr]).toEqual([
      1,
      "trunkline: no runner 'gpu-box' (see: trunkline runners)",
    ]);
    const twin = await register("twin", ["linux"]);
    await register("twin", ["linux"]);
    const twins = await runCli(["runners", "rm", "twin", ...flags]);
    expect([twins.code, twins.stderr]).toEqual([
      2,
      expect.stringMatching(
        /^trunkline: 2 runners are named 'twin': remove one by its id \(.+, .+\)$/,
      ),
    ]);
    const viewer = ["--server", server.base, "--token", server.tokens.viewer];
    expect(await runCli(["runners", "rm", twin.id, ...viewer])).toEqual({
      code: 1,
      stdout: "",
      stderr: `trunkline: DELETE /api/v1/runners/${twin.id}: this needs the admin role; the token has viewer`,
    });
  });

  test("credentials rotate: token list and rm revoke a token at once; a mirror's remote URL is replaced, its credentials never shown", async () => {
    const made = await runCli(["token", "list", "--json", ...flags]);
    expect(made.code).toBe(0);
    const before = JSON.parse(made.stdout) as { id: string; name: string; role: string }[];
    const old = await server.api("admin", "POST", "/api/v1/tokens", {
      name: "ci-bot",
      role: "viewer",
    });
    const bot = old.body as { id: string; token: string };
    const listed = await runCli(["token", "list", ...flags]);
    expect(listed.stdout).toContain(`${bot.id}  ci-bot`);
    expect(listed.stdout).not.toContain(bot.token);
    const asBot = ["--server", server.base, "--token", bot.token];
    expect((await runCli(["repo", "list", ...asBot])).code).toBe(0);
    const removed = await runCli(["token", "rm", bot.id, ...flags]);
    expect([removed.code, removed.stderr]).toEqual([0, `trunkline: token ${bot.id} revoked`]);
    const refused = await runCli(["repo", "list", ...asBot]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      "trunkline: GET /api/v1/repositories: a valid API token is required (Authorization: Bearer <token>)",
    );
    expect(JSON.parse((await runCli(["token", "list", "--json", ...flags])).stdout)).toEqual(
      before,
    );

    const mirror = "https://old-user:old-secret@git.example.com/acme/mirror.git";
    await runCli(["repo", "create", "mirror", "--remote-url", mirror, ...flags]);
    const changed = await runCli([
      "repo",
      "set-remote-url",
      "mirror",
      "https://new-user:new-secret@git.example.com/acme/mirror.git",
      ...flags,
    ]);
    expect([changed.code, changed.stderr]).toEqual([
      0,
      "trunkline: mirror now mirrors its new remote URL",
    ]);
    const row = await store.db
      .selectFrom("repositories")
      .select("remote_url")
      .where("name", "=", "mirror")
      .executeTakeFirstOrThrow();
    expect(row.remote_url).toBe("https://new-user:new-secret@git.example.com/acme/mirror.git");
    const shown = (await runCli(["repo", "list", "--json", ...flags])).stdout;
    expect(shown).not.toContain("new-secret");
    expect(shown).not.toContain("old-secret");
    const hosted = await runCli([
      "repo",
      "set-remote-url",
      "shop",
      "https://x.example/shop.git",
      ...flags,
    ]);
    expect([hosted.code, hosted.stderr]).toEqual([
      1,
      "trunkline: PATCH /api/v1/repositories/shop: repository 'shop' is hosted here: it has no remote URL to change",
    ]);
    const unknown = await runCli([
      "repo",
      "set-remote-url",
      "nope",
      "https://x.example/a.git",
      ...flags,
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("repository 'nope'");
    const viewer = await runCli([
      "repo",
      "set-remote-url",
      "mirror",
      "https://x.example/a.git",
      "--server",
      server.base,
      "--token",
      server.tokens.viewer,
    ]);
    expect(viewer.code).toBe(1);
  });

  test("servers lists the server processes sharing the store, this one marked", async () => {
    const { stdout, code } = await runCli(["servers", ...flags]);
    expect(code).toBe(0);
    const pattern = new RegExp(
      `^${hostname().replace(/\./g, "\\.")}:${process.pid} \\(this one\\) {2}started \\d{4}-.* {2}last seen \\d{4}-.* {2}\\d+ runs?$`,
    );
    expect(stdout.split("\n")).toEqual([expect.stringMatching(pattern)]);
    const json = JSON.parse((await runCli(["servers", "--json", ...flags])).stdout);
    expect(json).toEqual([
      expect.objectContaining({ host: hostname(), pid: process.pid, self: true }),
    ]);
  });

  test("a server that does not answer, or a bad token, is one line, not a stack trace", async () => {
    const down = await runCli([
      "runs",
      "list",
      "shop",
      "--server",
      "http://127.0.0.1:9",
      "--token",
      "tl_x",
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^trunkline: cannot reach the server at http:\/\/127\.0\.0\.1:9 \(.*\); is 'trunkline serve' running\? Set --server or TRUNKLINE_SERVER$/,
    );
    const forged = await runCli([
      "runs",
      "list",
      "shop",
      "--server",
      server.base,
      "--token",
      "tl_forged",
    ]);
    expect(forged.stderr).toBe(
      "trunkline: GET /api/v1/repositories/shop/runs: a valid API token is required (Authorization: Bearer <token>)",
    );
  });
});
