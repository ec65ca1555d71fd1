import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";
import { describeOnEachDatabase, postgresAvailable } from "./helpers/databases.js";
import { committed, git } from "./helpers/git.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

// `check` fails until the marker exists: attempt 1 fails, a re-run after the marker succeeds.
const CI = `name: CI
on: push
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - run: test -f "$MARKER" || { echo "no marker yet"; exit 1; }
        env: { MARKER: "\${{ vars.MARKER }}" }
`;
const STATUSES = "queued, in_progress, success, failure, cancelled";

const postgresUp = await postgresAvailable();

describeOnEachDatabase("the CLI's flags against a server", postgresUp, (db) => {
  let server: TestServer;
  let flags: string[];

  beforeAll(async () => {
    if (!db.available) return;
    server = await startTestServer(db.store);
    flags = ["--server", server.base, "--token", server.tokens.admin];
    expect((await runCli(["repo", "create", "shop", ...flags])).code).toBe(0);
    const marker = join(mkdtempSync(join(tmpdir(), "trunkline-cli-")), "marker");
    const { dir } = await committed(
      {
        ".github/workflows/ci.yml": CI,
        ".trunkline/config.yml": `variables:\n  MARKER: ${marker}\n`,
      },
      "ci",
    );
    await git(dir, "push", "-q", server.gitUrl("shop"), "main");
    await server.service.idle();
    writeFileSync(marker, "");
    expect((await runCli(["runs", "rerun", "shop#1", ...flags])).code).toBe(0);
    await server.service.idle();
  });
  afterAll(async () => {
    if (db.available) await server.close();
  });

  test.runIf(db.available)("runs show --attempt N shows that attempt's status", async () => {
    const first = await runCli(["runs", "show", "shop#1", "--attempt", "1", ...flags]);
    expect(first.code).toBe(0);
    expect(first.stdout.split("\n")[0]).toBe("CI #1  ✗ failure");
    expect(first.stdout).toMatch(/✗ failure {2}check/);
    const json = JSON.parse(
      (await runCli(["runs", "show", "shop#1", "--attempt", "1", "--json", ...flags])).stdout,
    );
    expect([json.attempt, json.status]).toEqual([1, "failure"]);
    expect(json.startedAt).toBeLessThanOrEqual(json.finishedAt);
    const latest = await runCli(["runs", "show", "shop#1", "--attempt", "2", ...flags]);
    expect(latest.stdout.split("\n")[0]).toBe("CI #1 (attempt 2)  ✓ success");
  });

  test.runIf(db.available)(
    "an attempt the run does not have is refused, naming --attempt and the attempts there are",
    async () => {
      const missing = await runCli(["runs", "show", "shop#1", "--attempt", "99", ...flags]);
      expect(missing).toEqual({
        code: 2,
        stdout: "",
        stderr: "trunkline: --attempt 99: CI #1 has attempts 1 to 2",
      });
      const { id } = (await server.api("viewer", "GET", "/api/v1/repositories/shop/runs/1")).body;
      for (const url of [
        `/api/v1/repositories/shop/runs/1?attempt=3`,
        `/api/v1/runs/${id}?attempt=3`,
      ])
        expect(await server.api("viewer", "GET", url)).toEqual({
          status: 404,
          body: {
            code: "not_found",
            message: expect.stringMatching(/ has no attempt 3; it has attempts 1 to 2$/),
          },
        });
    },
  );

  test.runIf(db.available)(
    "runs list --status takes only a run status, in the CLI and the API",
    async () => {
      const bogus = await runCli(["runs", "list", "shop", "--status", "bogus", ...flags]);
      expect(bogus.code).toBe(2);
      expect(bogus.stderr.split("\n")[0]).toBe(
        `error: option '--status <status>' argument 'bogus' is invalid. Allowed choices are ${STATUSES}.`,
      );
      const success = await runCli(["runs", "list", "shop", "--status", "success", ...flags]);
      expect(success.stdout).toMatch(/^#1 {2}✓ success {2}CI /);
      expect(
        await server.api("viewer", "GET", "/api/v1/repositories/shop/runs?status=bogus"),
      ).toEqual({
        status: 400,
        body: {
          code: "invalid_input",
          message: `querystring.status: 'bogus' is not a run status; expected one of ${STATUSES}`,
        },
      });
    },
  );

  test.runIf(db.available)(
    "--server takes HOST:PORT as http://HOST:PORT, and refuses what is no http(s) URL by name",
    async () => {
      const token = ["--token", server.tokens.admin];
      const hostPort = server.base.replace("http://", "");
      const bare = await runCli(["runs", "list", "shop", "--server", hostPort, ...token]);
      expect(bare.code).toBe(0);
      expect(bare.stdout).toMatch(/^#1 /);
      for (const bad of ["http://bad host", "ftp://127.0.0.1", "http://", `${hostPort}?x=1`])
        expect(await runCli(["runs", "list", "shop", "--server", bad, ...token])).toEqual({
          code: 2,
          stdout: "",
          stderr: `trunkline: --server '${bad}': expected http(s)://HOST[:PORT], or HOST:PORT`,
        });
      const saved = process.env.TRUNKLINE_SERVER;
      try {
        process.env.TRUNKLINE_SERVER = hostPort;
        expect((await runCli(["runs", "list", "shop", ...token])).code).toBe(0);
        process.env.TRUNKLINE_SERVER = "ftp://x";
        expect((await runCli(["runs", "list", "shop", ...token])).stderr).toBe(
          "trunkline: TRUNKLINE_SERVER 'ftp://x': expected http(s)://HOST[:PORT], or HOST:PORT",
        );
      } finally {
        if (saved === undefined) delete process.env.TRUNKLINE_SERVER;
        else process.env.TRUNKLINE_SERVER = saved;
      }
    },
  );
});

describe("trunkline agent --server", () => {
  test("takes HOST:PORT as http://HOST:PORT, and refuses what is no http(s) URL by name", async () => {
    const workDir = mkdtempSync(join(tmpdir(), "trunkline-agent-"));
    const agent = (server: string) =>
      runCli(["agent", "--server", server, "--labels", "x", "--token", "t", "--work-dir", workDir]);
    // Nothing listens on port 9: the agent says where it looked, with the scheme it assumed.
    expect((await agent("127.0.0.1:9")).stderr).toMatch(
      /^trunkline: cannot reach the server at http:\/\/127\.0\.0\.1:9 \(/,
    );
    expect(await agent("http://bad host")).toEqual({
      code: 2,
      stdout: "",
      stderr: "trunkline: --server 'http://bad host': expected http(s)://HOST[:PORT], or HOST:PORT",
    });
    rmSync(workDir, { recursive: true, force: true });
  });
});
