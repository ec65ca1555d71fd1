import { afterAll, beforeAll, expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { committed, git } from "../../../test/helpers/git.js";
import { startTestServer, type TestServer } from "../../../test/helpers/server.js";

// What a push is told: `git push` prints `remote:` lines naming the runs it started, why
// none started, and each problem of a workflow file that does not parse, whose push fails a
// run of its own ("Invalid workflow file", as on GitHub).

const postgres = await postgresAvailable();

const CI = `name: CI
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{ run: echo built }]
`;

const BROKEN = `name: Broken
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    needs: nowhere
    steps: [{ run: echo never }]
`;

interface Run {
  id: string;
  number: number;
  workflow: string;
  status: string;
  problems?: string[];
}

describeOnEachDatabase("what a push says", postgres, (context) => {
  let server: TestServer;
  beforeAll(async () => {
    if (!context.available) return;
    server = await startTestServer(context.store);
    await server.api("admin", "POST", "/api/v1/repositories", { name: "app" });
  });
  afterAll(async () => {
    if (context.available) await server.close();
  });

  test("remote: lines name each run a push started, or why none did", async () => {
    const { dir } = await committed({ ".github/workflows/ci.yml": CI }, "ci");
    const pushed = await git(dir, "push", server.gitUrl("app"), "main", "main:feature");
    // git pads each remote line with spaces (to overwrite progress output).
    const remote = pushed.stderr
      .split("\n")
      .filter((l) => l.startsWith("remote: Trunkline:"))
      .map((l) => l.trimEnd());
    const runs = (await server.api("viewer", "GET", "/api/v1/repositories/app/runs")).body as Run[];
    expect(runs).toHaveLength(1);
    expect(remote).toEqual([
      `remote: Trunkline: main: started run #1 CI: trunkline runs show ${runs[0]?.id}`,
      "remote: Trunkline: feature: no run started: no workflow listens to push on feature",
    ]);
  });

  test("a workflow file that does not parse fails a run that shows every problem", async () => {
    const { dir } = await committed(
      { ".github/workflows/ci.yml": CI, ".github/workflows/broken.yml": BROKEN },
      "broken",
    );
    const pushed = await git(dir, "push", "--force", server.gitUrl("app"), "main");
    // git pads each remote line with spaces (to overwrite progress output).
    const remote = pushed.stderr
      .split("\n")
      .filter((l) => l.startsWith("remote: Trunkline:"))
      .map((l) => l.trimEnd());
    const runs = (await server.api("viewer", "GET", "/api/v1/repositories/app/runs")).body as Run[];
    const invalid = runs.find((r) => r.workflow === ".github/workflows/broken.yml");
    const ci = runs.find((r) => r.workflow === "CI" && r.number > 1);
    expect(invalid?.status).toBe("failure");
    const shown = (await server.api("viewer", "GET", `/api/v1/runs/${invalid?.id}`)).body as Run;
    expect(shown.problems).toEqual([
      ".github/workflows/broken.yml:6:12: Job 'build' depends on unknown job 'nowhere'.",
    ]);
    expect(remote).toEqual([
      `remote: Trunkline: main: run #${invalid?.number} failed: .github/workflows/broken.yml is not a valid workflow file:`,
      `remote: Trunkline:   ${shown.problems?.[0]}`,
      `remote: Trunkline: main: started run #${ci?.number} CI: trunkline runs show ${ci?.id}`,
    ]);
  });
});
