import { afterAll, beforeAll, expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { committed, git } from "../../../test/helpers/git.js";
import { startTestServer, type TestServer } from "../../../test/helpers/server.js";

const NIGHTLY = `name: Nightly
on:
  schedule:
    - cron: "30 2 * * *"
    - cron: "*/15 * * * 1-5"
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - run: echo "fired by '\${{ github.event.schedule }}' on $GITHUB_REF"
`;

const postgres = await postgresAvailable();

describeOnEachDatabase("scheduled workflows", postgres, (context) => {
  let server: TestServer;

  beforeAll(async () => {
    if (!context.available) return;
    server = await startTestServer(context.store);
    await server.api("admin", "POST", "/api/v1/repositories", { name: "app" });
    const { dir } = await committed({ ".github/workflows/nightly.yml": NIGHTLY }, "nightly");
    await git(dir, "push", "-q", server.gitUrl("app"), "main");
    await server.service.idle();
  });
  afterAll(async () => {
    if (context.available) await server.close();
  });

  test.runIf(context.available)(
    "a cron that matches the minute fires once, on the default branch",
    async () => {
      // 2026-11-26 is a Thursday: at 02:30 both crons match, at 02:31 neither does.
      const at = new Date("2026-11-26T02:30:00Z");
      const started = await server.scheduler.tick(at);
      expect(started).toHaveLength(2);
      expect(await server.scheduler.tick(new Date("2026-11-26T02:30:40Z"))).toEqual([]);
      expect(await server.scheduler.tick(new Date("2026-11-26T02:31:00Z"))).toEqual([]);
      await server.service.idle();
      const runs = (await server.api("viewer", "GET", "/api/v1/repositories/app/runs")).body;
      expect(
        runs.map((r: { event: string; ref: string; status: string }) => [r.event, r.ref, r.status]),
      ).toEqual([
        ["schedule", "refs/heads/main", "success"],
        ["schedule", "refs/heads/main", "success"],
      ]);
      const logs: string[] = [];
      for (const run of runs) {
        const shown = (await server.api("viewer", "GET", `/api/v1/runs/${run.id}`)).body;
        const log = await server.api("viewer", "GET", `/api/v1/jobs/${shown.jobs[0].id}/logs`);
        logs.push(...log.body.lines.filter((l: string) => l.startsWith("fired by")));
      }
      expect(logs.sort()).toEqual([
        "fired by '*/15 * * * 1-5' on refs/heads/main",
        "fired by '30 2 * * *' on refs/heads/main",
      ]);
    },
  );

  test.runIf(context.available)("the API lists each schedule with its next firing", async () => {
    const listed = (await server.api("viewer", "GET", "/api/v1/repositories/app/schedules")).body;
    expect(listed.map((s: { cron: string }) => s.cron)).toEqual(["30 2 * * *", "*/15 * * * 1-5"]);
    for (const s of listed) expect(s.next).toBeGreaterThan(Date.now());
    expect((await server.api("viewer", "GET", "/api/v1/repositories/nope/schedules")).status).toBe(
      404,
    );
  });
});
