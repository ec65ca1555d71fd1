import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runCli } from "../../../test/helpers/capture.js";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { committed, git } from "../../../test/helpers/git.js";
import { startTestServer, type TestServer } from "../../../test/helpers/server.js";
import { waitFor } from "../../../test/helpers/server-api.js";
import { readEvents } from "../../store/event-log.js";
import { createToken } from "../auth/tokens.js";

// Approvals on the server: a push waits at staging for its reviewers; a developer who is not
// one is refused (403, why), and so is the run's own trigger where self-review is prevented;
// a maintainer approves with a comment through the CLI, and only then does the job run, with
// the staging secret the build job could not read; the event log says who approved, when,
// and why. A rejection fails the job, and the run goes on as for a failure.

const postgres = await postgresAvailable();

const WORKFLOW = `name: Deploy
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: test -z "$KEY" && echo "the build cannot read the staging secret"
        env: { KEY: "\${{ secrets.STAGING_KEY }}" }
  staging:
    needs: build
    runs-on: ubuntu-latest
    environment: staging
    steps:
      - run: test "$KEY" = s3cr3t-staging && echo "the deployment reads the staging secret"
        env: { KEY: "\${{ secrets.STAGING_KEY }}" }
  after:
    needs: staging
    if: always()
    runs-on: ubuntu-latest
    steps: [{ run: echo "after the deployment" }]
`;

const CONFIG = `environments:
  staging:
    reviewers: [maintainer, lead]
    allow-self-review: false
`;

interface Job {
  id: string;
  key: string;
  status: string;
  reason: string | null;
}

describeOnEachDatabase("approvals on the server", postgres, (context) => {
  let server: TestServer;
  let lead: string;
  let dave: string;
  beforeAll(async () => {
    if (!context.available) return;
    server = await startTestServer(context.store);
    lead = (await createToken(context.store.db, "lead", "developer")).token;
    dave = (await createToken(context.store.db, "dave", "developer")).token;
  });
  afterAll(async () => {
    if (context.available) await server.close();
  });

  /** Pushes the deploy workflow to a new repository as `lead`; the run's jobs once staging waits. */
  async function pushAndWait(repo: string) {
    await server.api("admin", "POST", "/api/v1/repositories", { name: repo });
    await server.api(
      "maintainer",
      "PUT",
      `/api/v1/repositories/${repo}/environments/staging/secrets/STAGING_KEY`,
      { value: "s3cr3t-staging" },
    );
    const { dir } = await committed(
      { ".github/workflows/deploy.yml": WORKFLOW, ".trunkline/config.yml": CONFIG },
      "deploy",
    );
    const url = `${server.base.replace("://", `://x:${lead}@`)}/git/${repo}.git`;
    await git(dir, "push", "-q", url, "main");
    const [run] = (await server.api("viewer", "GET", `/api/v1/repositories/${repo}/runs`)).body as {
      id: string;
    }[];
    const id = run?.id ?? "";
    const jobs = async () =>
      (await server.api("viewer", "GET", `/api/v1/runs/${id}`)).body as {
        status: string;
        jobs: Job[];
      };
    const waiting = await waitFor("staging to wait for approval", async () => {
      const shown = await jobs();
      return shown.jobs.find((j) => j.key.endsWith("/ staging"))?.status === "waiting"
        ? shown
        : undefined;
    });
    return { id, jobs, waiting, dir, url };
  }

  const review = (token: string, id: string, body: unknown) =>
    fetch(`${server.base}/api/v1/runs/${id}/pending_deployments`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));

  test.runIf(context.available)(
    "a maintainer's approval, and only a reviewer's, lets the deployment run with its secrets",
    async () => {
      const { id, jobs, waiting } = await pushAndWait("approved-app");
      const staging = waiting.jobs.find((j) => j.key.endsWith("/ staging"));
      expect(staging?.reason).toBe(
        "waiting for approval to deploy to 'staging' (0 of 1: maintainer, lead)",
      );
      // What waits, and whether this token may review it.
      const pending = await server.api(
        "maintainer",
        "GET",
        `/api/v1/runs/${id}/pending_deployments`,
      );
      expect(pending.body).toEqual([
        {
          environment: { id: "staging", name: "staging" },
          wait_timer: 0,
          reviewers: [
            { type: "Role", reviewer: "maintainer" },
            { type: "User", reviewer: "lead" },
          ],
          required_approvals: 1,
          current_user_can_approve: true,
        },
      ]);
      expect(
        await review(dave, id, { environment_ids: ["staging"], state: "approved", comment: "" }),
      ).toEqual({
        status: 403,
        body: {
          code: "forbidden",
          message:
            "dave (developer) is not a reviewer of environment 'staging'; its reviewers are maintainer, lead",
        },
      });
      expect(await review(lead, id, { environments: ["staging"], state: "approved" })).toEqual({
        status: 403,
        body: {
          code: "forbidden",
          message:
            "lead triggered this run, and environment 'staging' prevents self-review (allow-self-review: false)",
        },
      });
      expect(await review(lead, id, { environments: ["production"], state: "approved" })).toEqual({
        status: 422,
        body: {
          code: "not_waiting",
          message: "no deployment of this run to 'production' waits for review (waiting: staging)",
        },
      });
      // Still waiting: nothing ran.
      expect((await jobs()).jobs.find((j) => j.key.endsWith("/ staging"))?.status).toBe("waiting");
      const approved = await runCli([
        "approve",
        "approved-app#1",
        "--comment",
        "release notes checked",
        "--server",
        server.base,
        "--token",
        server.tokens.maintainer,
      ]);
      expect(approved.stderr).toBe("trunkline: approved the deployment of Deploy #1 to staging");
      expect(approved.code).toBe(0);
      const ended = await waitFor("the run to end", async () => {
        const shown = await jobs();
        return ["success", "failure"].includes(shown.status) ? shown : undefined;
      });
      expect(ended.status).toBe("success");
      const logOf = async (suffix: string) => {
        const job = ended.jobs.find((j) => j.key.endsWith(suffix));
        return (await server.api("viewer", "GET", `/api/v1/jobs/${job?.id}/logs`)).body
          .lines as string[];
      };
      expect(await logOf("/ build")).toContain("the build cannot read the staging secret");
      expect(await logOf("/ staging")).toContain("the deployment reads the staging secret");
      const events = (await readEvents(context.store.db, { runId: id })).filter((e) =>
        e.type.startsWith("approval."),
      );
      expect(events.map((e) => e.data)).toEqual([
        {
          type: "approval.given",
          version: 1,
          runId: id,
          attempt: 1,
          environment: "staging",
          actor: { kind: "user", name: "maintainer" },
          comment: "release notes checked",
          at: expect.any(Number),
        },
      ]);
      // Nothing waits now.
      expect(
        (await server.api("maintainer", "GET", `/api/v1/runs/${id}/pending_deployments`)).body,
      ).toEqual([]);
    },
    60_000,
  );

  test.runIf(context.available)(
    "a rejection fails the deployment, and the run goes on as for a failure",
    async () => {
      const { jobs } = await pushAndWait("rejected-app");
      const rejected = await runCli([
        "reject",
        "rejected-app#1",
        "--env",
        "staging",
        "--comment",
        "not this week",
        "--server",
        server.base,
        "--token",
        server.tokens.admin,
      ]);
      expect(rejected.code, rejected.stderr).toBe(0);
      const ended = await waitFor("the run to end", async () => {
        const shown = await jobs();
        return ["success", "failure"].includes(shown.status) ? shown : undefined;
      });
      expect(ended.status).toBe("failure");
      const byKey = Object.fromEntries(
        ended.jobs.map((j) => [j.key.replace(/^.* \/ /, ""), [j.status, j.reason]]),
      );
      expect(byKey).toEqual({
        build: ["success", null],
        staging: ["failure", "the deployment to 'staging' was rejected by admin: not this week"],
        after: ["success", null],
      });
    },
    60_000,
  );

  test.runIf(context.available)(
    "a push cannot loosen the rules its own deployments are held by: they are the default branch's",
    async () => {
      const { id, dir, url } = await pushAndWait("guarded-app");
      writeFileSync(join(dir, ".trunkline", "config.yml"), "environments:\n  staging: {}\n");
      await git(dir, "commit", "-qam", "no reviewers, please");
      await git(dir, "push", "-q", url, "HEAD:refs/heads/loosen");
      const loosened = await waitFor("the branch's deployment to wait too", async () => {
        const runs = (await server.api("viewer", "GET", "/api/v1/repositories/guarded-app/runs"))
          .body as { id: string; ref: string }[];
        const run = runs.find((r) => r.ref === "refs/heads/loosen");
        if (!run) return undefined;
        const shown = (await server.api("viewer", "GET", `/api/v1/runs/${run.id}`)).body as {
          jobs: Job[];
        };
        const staging = shown.jobs.find((j) => j.key.endsWith("/ staging"));
        return staging?.status === "waiting" ? staging : undefined;
      });
      expect(loosened.reason).toBe(
        "waiting for approval to deploy to 'staging' (0 of 1: maintainer, lead)",
      );
      // Turned down, so nothing is left waiting.
      for (const run of (await server.api("viewer", "GET", "/api/v1/repositories/guarded-app/runs"))
        .body as { id: string }[])
        expect(
          (
            await review(server.tokens.admin, run.id, {
              environments: ["staging"],
              state: "rejected",
            })
          ).status,
        ).toBe(200);
      expect(id).not.toBe("");
    },
    60_000,
  );
});
