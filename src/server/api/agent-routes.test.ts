import { afterAll, beforeAll, expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { committed, git } from "../../../test/helpers/git.js";
import { startTestServer, type TestServer } from "../../../test/helpers/server.js";
import type { AgentLease } from "../../agent/agent-protocol.js";
import { HttpTransport } from "../../agent/http-transport.js";

// The agent protocol over HTTP against a server with no embedded runner, driven step by
// step with the agent's own transport: what an agent sees when it claims, writes with a
// stale token, and completes a job while another waits.

const postgres = await postgresAvailable();

const WORKFLOW = `name: Pair
on: push
jobs:
  one:
    runs-on: linux
    steps: [{ run: echo one }]
  two:
    runs-on: linux
    steps: [{ run: echo two }]
`;

describeOnEachDatabase("the agent protocol over HTTP", postgres, (context) => {
  let server: TestServer;
  let transport: HttpTransport;

  beforeAll(async () => {
    if (!context.available) return;
    server = await startTestServer(context.store, { runnerCapacity: 0 });
    await server.api("admin", "POST", "/api/v1/repositories", { name: "app" });
    const registered = await server.api("maintainer", "POST", "/api/v1/runners", {
      name: "probe",
      labels: ["linux"],
    });
    expect(registered.status).toBe(201);
    transport = new HttpTransport(server.base, registered.body.token as string, 10_000);
  });
  afterAll(async () => {
    if (context.available) await server.close();
  });

  test.runIf(context.available)(
    "a completion hands over the next waiting job; writes under a finished lease get 409",
    async () => {
      const { dir: work } = await committed({ ".github/workflows/pair.yml": WORKFLOW });
      await git(work, "push", "-q", server.gitUrl("app"), "main");
      const signal = new AbortController().signal;
      const first = (await transport.claim(signal)) as AgentLease;
      expect(first.spec.runsOn).toEqual(["linux"]);
      // A remote agent is told to fetch the commit from the server, over git.
      expect(first.source.repository).toBe(`${server.base}/git/app.git`);
      const log = (text: string) =>
        ({ type: "log", job: first.spec.key, stream: "stdout", text, at: Date.now() }) as const;
      expect(await transport.send(first, 1, [log("hello")])).toBe(true);
      const done = await transport.completeAndClaim(
        first,
        { status: "success", outputs: {} },
        { seq: 2, events: [log("bye")] },
      );
      expect(done.held).toBe(true);
      const second = done.next as AgentLease;
      expect(second.spec.key).not.toBe(first.spec.key);
      expect(second.source.repository).toBe(`${server.base}/git/app.git`);
      // The first lease is over: its late writes are refused.
      expect(await transport.send(first, 3, [log("late")])).toBe(false);
      expect(
        await transport.complete(first, { status: "failure", outputs: {} }, { seq: 3, events: [] }),
      ).toBe(false);
      // Nothing else waits: the completion hands over nothing.
      const last = await transport.completeAndClaim(
        second,
        { status: "success", outputs: {} },
        { seq: 0, events: [] },
      );
      expect(last).toEqual({ held: true });
      const run = await (async () => {
        for (;;) {
          const [r] = (await server.api("viewer", "GET", "/api/v1/repositories/app/runs")).body;
          if (r?.status === "success") return r;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const shown = (await server.api("viewer", "GET", `/api/v1/runs/${run.id}`)).body;
      const firstJob = shown.jobs.find((j: { key: string }) => j.key === first.spec.key);
      const lines = (await server.api("viewer", "GET", `/api/v1/jobs/${firstJob.id}/logs`)).body
        .lines;
      expect(lines).toEqual(["hello", "bye"]);
    },
    30_000,
  );
});
