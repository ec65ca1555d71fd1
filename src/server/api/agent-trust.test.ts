import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { committed, git } from "../../../test/helpers/git.js";
import { startTestServer, type TestServer } from "../../../test/helpers/server.js";
import {
  AGENT_PROTOCOL,
  AGENT_PROTOCOL_HEADER,
  type AgentLease,
} from "../../agent/agent-protocol.js";
import { HttpTransport } from "../../agent/http-transport.js";

// What a runner may say, over real HTTP against a server with no embedded runner: only
// events about the job it leased, under a lease it claimed itself; and a removed runner's
// token stops at once, its job ending as a lost runner's.

const postgres = await postgresAvailable();

const RELEASE = `name: Release
on: push
jobs:
  lint:
    runs-on: [linux, lint]
    steps: [{ run: echo lint }]
  deploy-production:
    runs-on: [linux, deploy]
    steps: [{ run: echo deploy }]
`;

const BUILD = `name: Build
on: push
jobs:
  build:
    runs-on: doomed
    steps: [{ run: echo build }]
`;

interface Job {
  id: string;
  key: string;
  name: string;
  status: string;
  reason: string | null;
}

describeOnEachDatabase("what a runner may say", postgres, (context) => {
  let server: TestServer;

  beforeAll(async () => {
    if (!context.available) return;
    server = await startTestServer(context.store, { runnerCapacity: 0 });
  });
  afterAll(async () => {
    if (context.available) await server.close();
  });

  /** A runner registered by a maintainer: its token. */
  async function register(name: string, labels: string[]): Promise<string> {
    const registered = await server.api("maintainer", "POST", "/api/v1/runners", {
      name,
      labels,
    });
    expect(registered.status).toBe(201);
    return registered.body.token as string;
  }

  /** A POST over HTTP with a bearer token, as an agent of this version; the status and JSON answer. */
  async function post(
    token: string,
    path: string,
    body: unknown,
    protocol: string | null = String(AGENT_PROTOCOL),
  ) {
    const response = await fetch(`${server.base}${path}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        ...(protocol === null ? {} : { [AGENT_PROTOCOL_HEADER]: protocol }),
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    // biome-ignore lint/suspicious/noExplicitAny: a JSON answer, checked by each test
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as any };
  }

  async function claim(token: string): Promise<AgentLease> {
    const answer = await post(token, "/api/v1/agent/claim", { waitMs: 10_000 });
    expect(answer.status).toBe(200);
    return answer.body as AgentLease;
  }

  const events = (lease: AgentLease) => `/api/v1/agent/jobs/${lease.entryId}/events`;
  const heartbeat = (lease: AgentLease) => `/api/v1/agent/jobs/${lease.entryId}/heartbeat`;
  const complete = (lease: AgentLease) => `/api/v1/agent/jobs/${lease.entryId}/complete`;

  async function runOf(repository: string): Promise<{ id: string; status: string; jobs: Job[] }> {
    const [run] = (await server.api("viewer", "GET", `/api/v1/repositories/${repository}/runs`))
      .body;
    return (await server.api("viewer", "GET", `/api/v1/runs/${run.id}`)).body;
  }

  async function logOf(job: Job): Promise<string[]> {
    return (await server.api("viewer", "GET", `/api/v1/jobs/${job.id}/logs`)).body.lines;
  }

  const log = (job: string, text: string) => ({
    type: "log",
    job,
    stream: "stdout",
    text,
    at: Date.now(),
  });

  /**
   * A push to a new repository of a release workflow whose two jobs each go to a runner of
   * their own (labels of this repository's), each runner holding its job's lease.
   */
  async function release(repo: string) {
    await server.api("admin", "POST", "/api/v1/repositories", { name: repo });
    const linter = await register(`${repo}-linter`, ["linux", `${repo}-lint`]);
    const deployer = await register(`${repo}-deployer`, ["linux", `${repo}-deploy`]);
    const workflow = RELEASE.replace("lint]", `${repo}-lint]`).replace(
      "deploy]",
      `${repo}-deploy]`,
    );
    const { dir } = await committed({ ".github/workflows/release.yml": workflow });
    await git(dir, "push", "-q", server.gitUrl(repo), "main");
    const lint = await claim(linter);
    const deploy = await claim(deployer);
    expect([lint.spec.name, deploy.spec.name]).toEqual(["lint", "deploy-production"]);
    return { linter, deployer, lint, deploy, run: await runOf(repo) };
  }

  /**
   * Shows that nothing refused was stored (both jobs still run, with no log line), then that
   * each runner's own lease still works from its first batch on, to the run's success.
   */
  async function finish(repo: string, started: Awaited<ReturnType<typeof release>>) {
    const { linter, deployer, lint, deploy } = started;
    const meanwhile = await runOf(repo);
    expect(meanwhile.status).toBe("in_progress");
    expect(Object.fromEntries(meanwhile.jobs.map((j) => [j.name, j.status]))).toEqual({
      lint: "in_progress",
      "deploy-production": "in_progress",
    });
    for (const job of meanwhile.jobs) expect(await logOf(job)).toEqual([]);

    // Each runner's own lease still works, from its first batch on.
    expect(await post(linter, heartbeat(lint), { token: lint.token })).toEqual({
      status: 200,
      body: { held: true, cancel: false },
    });
    for (const [token, lease, text] of [
      [linter, lint, "linted"],
      [deployer, deploy, "deployed"],
    ] as const) {
      const sent = await post(token, events(lease), {
        token: lease.token,
        seq: 1,
        events: [log(lease.spec.key, text)],
      });
      expect(sent.status).toBe(200);
      const done = await post(token, complete(lease), {
        token: lease.token,
        result: { status: "success", outputs: {} },
        sent: 1,
      });
      expect(done.status).toBe(200);
    }
    const ended = await vi.waitFor(
      async () => {
        const now = await runOf(repo);
        if (now.status === "in_progress") throw new Error("the run is still running");
        return now;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(ended.status).toBe("success");
    const logs = await Promise.all(ended.jobs.map(async (j) => [j.name, await logOf(j)]));
    expect(Object.fromEntries(logs)).toEqual({
      lint: ["linted"],
      "deploy-production": ["deployed"],
    });
  }

  test.runIf(context.available)(
    "a lease speaks only for its own job: events of another job, lifecycle events and unknown fields get 403, and nothing is stored",
    async () => {
      const started = await release("release");
      const { linter, lint, deploy, run } = started;
      const at = Date.now();
      // The lint lease writes for deploy-production, and ends the job and the run.
      const forged = [
        [log(lint.spec.key, "fine"), log(deploy.spec.key, "deployed by lint")],
        [
          {
            type: "job.finished",
            job: deploy.spec.key,
            name: "deploy-production",
            workflow: "Release",
            status: "success",
            durationMs: 1,
            outputs: {},
            at,
          },
        ],
        [{ type: "run.finished", runId: run.id, status: "success", durationMs: 1, at }],
        [{ ...log(lint.spec.key, "elsewhere"), runId: "another-run", attempt: 2 }],
        [{ type: "approval.given", job: lint.spec.key, at }],
      ];
      for (const batch of forged) {
        const answer = await post(linter, events(lint), {
          token: lint.token,
          seq: 1,
          events: batch,
        });
        expect(answer.status).toBe(403);
        expect(answer.body.code).toBe("forbidden");
      }
      expect(
        await post(linter, events(lint), {
          token: lint.token,
          seq: 1,
          events: [{ ...log(lint.spec.key, "x"), text: 5 }],
        }),
      ).toEqual({
        status: 400,
        body: { code: "invalid_input", message: "events[0].text: must be a string" },
      });
      // The same through the completion's last batch, and a result with more than a result.
      const refused = await post(linter, complete(lint), {
        token: lint.token,
        result: { status: "success", outputs: {} },
        final: { seq: 1, events: [log(deploy.spec.key, "deployed")] },
      });
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({
        code: "forbidden",
        message: `final.events[0].job: this lease is for job '${lint.spec.key}', not '${deploy.spec.key}'`,
      });
      expect(
        (
          await post(linter, complete(lint), {
            token: lint.token,
            result: { status: "success", outputs: {}, job: deploy.spec.key },
          })
        ).status,
      ).toBe(403);

      await finish("release", started);
    },
    30_000,
  );

  test.runIf(context.available)(
    "only the runner that claimed a lease may use it: another runner with the right token gets 403",
    async () => {
      const started = await release("stolen");
      const { deployer, lint } = started;
      // The deployer holds a lease of its own; with the linter's entry and token it gets 403.
      const stolen = { token: lint.token };
      for (const [path, body] of [
        [events(lint), { ...stolen, seq: 1, events: [log(lint.spec.key, "stolen")] }],
        [heartbeat(lint), stolen],
        [complete(lint), { ...stolen, result: { status: "failure", outputs: {} } }],
      ] as const) {
        const answer = await post(deployer, path, body);
        expect(answer.status).toBe(403);
        expect(answer.body).toEqual({
          code: "forbidden",
          message: `job ${lint.entryId} is not leased to this runner`,
        });
      }

      await finish("stolen", started);
    },
    30_000,
  );

  test.runIf(context.available)(
    "a removed runner's token stops at once, and the job it held ends as runner_lost",
    async () => {
      await server.api("admin", "POST", "/api/v1/repositories", { name: "build" });
      const doomed = await register("doomed", ["linux", "doomed"]);
      const { dir } = await committed({ ".github/workflows/build.yml": BUILD });
      await git(dir, "push", "-q", server.gitUrl("build"), "main");
      const lease = await claim(doomed);
      const listed = (await server.api("viewer", "GET", "/api/v1/runners")).body as {
        id: string;
        name: string;
        state: string;
      }[];
      const runner = listed.find((r) => r.name === "doomed");
      expect(runner?.state).toBe("online");
      const id = runner?.id as string;

      // A runner token also fetches its job's repository over git.
      const fetchRefs = () =>
        fetch(`${server.base}/git/build.git/info/refs?service=git-upload-pack`, {
          headers: { authorization: `Bearer ${doomed}` },
        }).then(async (r) => [r.status, await r.arrayBuffer()][0]);
      expect(await fetchRefs()).toBe(200);

      // Only an admin removes a runner; an unknown one is a 404 with the usual shape.
      expect((await server.api("maintainer", "DELETE", `/api/v1/runners/${id}`)).status).toBe(403);
      expect(await server.api("admin", "DELETE", "/api/v1/runners/nope")).toEqual({
        status: 404,
        body: { code: "not_found", message: "no runner 'nope'" },
      });
      expect((await server.api("admin", "DELETE", `/api/v1/runners/${id}`)).status).toBe(204);
      expect((await server.api("admin", "DELETE", `/api/v1/runners/${id}`)).status).toBe(404);

      for (const [path, body] of [
        [heartbeat(lease), { token: lease.token }],
        [events(lease), { token: lease.token, seq: 1, events: [] }],
        [complete(lease), { token: lease.token, result: { status: "success", outputs: {} } }],
        ["/api/v1/agent/claim", { waitMs: 0 }],
      ] as const) {
        const answer = await post(doomed, path, body);
        expect(answer.status).toBe(401);
        expect(answer.body.code).toBe("unauthorized");
      }
      expect(await fetchRefs()).toBe(401);
      // The agent's transport hears that as the lease being gone, and stops the job.
      const transport = new HttpTransport(server.base, doomed, 0);
      expect(await transport.heartbeat(lease)).toEqual({ held: false, cancel: false });
      expect(await transport.send(lease, 1, [])).toBe(false);
      const ending = { seq: 0, events: [] };
      expect(await transport.complete(lease, { status: "success", outputs: {} }, ending)).toBe(
        false,
      );
      const run = await vi.waitFor(
        async () => {
          const now = await runOf("build");
          if (now.status === "in_progress") throw new Error("the run is still running");
          return now;
        },
        { timeout: 10_000, interval: 50 },
      );
      expect(run.status).toBe("failure");
      expect(run.jobs.map((j) => [j.name, j.status, j.reason])).toEqual([
        ["build", "failure", "runner_lost"],
      ]);
      const left = (await server.api("viewer", "GET", "/api/v1/runners")).body as { id: string }[];
      expect(left.map((r) => r.id)).not.toContain(id);
    },
    30_000,
  );

  test.runIf(context.available)(
    "a report the server refuses (400) is not sent again for ever: the agent hears why and stops the job",
    async () => {
      await server.api("admin", "POST", "/api/v1/repositories", { name: "refused" });
      const runner = await register("refusing", ["linux", "refused-here"]);
      const { dir } = await committed({
        ".github/workflows/build.yml": BUILD.replace("runs-on: doomed", "runs-on: refused-here"),
      });
      await git(dir, "push", "-q", server.gitUrl("refused"), "main");
      const lease = await claim(runner);
      const refused: [string, string][] = [];
      const transport = new HttpTransport(server.base, runner, 0, (what, reason) =>
        refused.push([what, reason]),
      );
      const job = lease.spec.key;
      const malformed = { type: "log", job, stream: "stdout", text: 42, at: Date.now() };
      expect(await transport.send(lease, 1, [malformed as never])).toBe(false);
      expect(refused).toEqual([["a report", "events[0].text: must be a string"]]);
      // The lease itself is still good: a well-formed report and the result are taken.
      expect(await transport.send(lease, 2, [log(job, "fine") as never])).toBe(true);
      expect(
        await transport.complete(lease, { status: "success", outputs: {} }, { seq: 2, events: [] }),
      ).toBe(true);
    },
    20_000,
  );

  test.runIf(context.available)(
    "a removed runner's waiting claim ends at once with 401, not when its wait runs out",
    async () => {
      const idle = await register("idle-removed", ["linux", "nothing-queued-here"]);
      const listed = (await server.api("viewer", "GET", "/api/v1/runners")).body as {
        id: string;
        name: string;
      }[];
      const id = listed.find((r) => r.name === "idle-removed")?.id as string;
      const waiting = post(idle, "/api/v1/agent/claim", { waitMs: 60_000 });
      // The claim is waiting in the server once the runner was seen (its claim records that).
      await vi.waitFor(
        async () => {
          const seen = (await server.api("viewer", "GET", "/api/v1/runners")).body as {
            name: string;
            state: string;
          }[];
          expect(seen.find((r) => r.name === "idle-removed")?.state).toBe("online");
          expect(server.service.jobs.waitingClaims).toBeGreaterThan(0);
        },
        { timeout: 10_000, interval: 20 },
      );
      expect((await server.api("admin", "DELETE", `/api/v1/runners/${id}`)).status).toBe(204);
      const answer = await waiting;
      expect([answer.status, answer.body]).toEqual([
        401,
        { code: "unauthorized", message: "this runner was removed" },
      ]);
    },
    20_000,
  );

  test.runIf(context.available)(
    "the runners list says which runners are online, by when each was last seen",
    async () => {
      await register("quiet", ["linux", "quiet"]);
      const listed = (await server.api("viewer", "GET", "/api/v1/runners")).body as {
        id: string;
        name: string;
      }[];
      const quiet = listed.find((r) => r.name === "quiet")?.id as string;
      // Last seen five minutes ago.
      const longAgo = Date.now() - 5 * 60_000;
      await context.store.db
        .updateTable("runners")
        .set({ last_seen_at: longAgo })
        .where("id", "=", quiet)
        .execute();
      const shown = (await server.api("viewer", "GET", "/api/v1/runners")).body as {
        id: string;
        state: string;
        lastSeenAt: number;
      }[];
      expect(shown.find((r) => r.id === quiet)).toMatchObject({
        state: "offline",
        lastSeenAt: longAgo,
      });
      const api = (await server.api("viewer", "GET", "/openapi.json")).body;
      expect(Object.keys(api.paths["/api/v1/runners/{id}"])).toEqual(["delete"]);
    },
  );

  test("an agent of another protocol version is refused at registration and at its claims, naming both", async () => {
    if (!context.available) return;
    const other = AGENT_PROTOCOL + 1;
    const refused = await server.api("maintainer", "POST", "/api/v1/runners", {
      name: "future-agent",
      labels: ["linux"],
      protocol: other,
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      code: "agent_protocol",
      message: `this agent speaks agent protocol ${other}; this server speaks agent protocol ${AGENT_PROTOCOL}: run the same Trunkline version on the agent as on the server`,
    });
    const same = await server.api("maintainer", "POST", "/api/v1/runners", {
      name: "current-agent",
      labels: ["linux"],
      protocol: AGENT_PROTOCOL,
    });
    expect(same.status).toBe(201);
    // A registered agent upgraded (or not) on its own is stopped at its next claim.
    const token = same.body.token as string;
    const claim = (protocol: string | null) =>
      post(token, "/api/v1/agent/claim", { waitMs: 0 }, protocol);
    expect(await claim(String(other))).toEqual({
      status: 400,
      body: {
        code: "agent_protocol",
        message: expect.stringContaining(`agent protocol ${other};`),
      },
    });
    expect((await claim(null)).body.message).toMatch(
      /^this agent speaks no protocol version \(an agent from before versions\); this server speaks agent protocol \d+/,
    );
    expect((await claim(String(AGENT_PROTOCOL))).status).toBe(204);
  });
});
