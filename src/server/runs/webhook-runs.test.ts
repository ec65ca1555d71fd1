import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { committed, git } from "../../../test/helpers/git.js";
import { startTestServer, type TestServer } from "../../../test/helpers/server.js";
import { setSecret } from "../../secrets/secret-store.js";
import { readWebhook } from "../../triggers/webhook-event.js";
import { signBody } from "../webhooks/signature.js";
import { runWebhook } from "./webhook-runs.js";

const SECRET = "hook-secret";
const CI = `name: CI
on:
  push:
    branches: [main]
  pull_request:
    branches: [main]
  create:
  workflow_dispatch:
    inputs:
      note: { type: string, default: none }
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "event=$GITHUB_EVENT_NAME ref=$GITHUB_REF secret=[\${{ secrets.API_KEY }}] note=\${{ inputs.note }}"
      - run: cat app.txt
`;

const TARGET = `name: Target
on: pull_request_target
jobs:
  label:
    runs-on: ubuntu-latest
    steps:
      - run: echo "target ref=$GITHUB_REF sha=$GITHUB_SHA secret=[\${{ secrets.API_KEY }}]"
`;

const postgres = await postgresAvailable();

type Run = { id: string; event: string; ref: string; sha: string; status: string };

describeOnEachDatabase("webhooks of a repository hosted elsewhere", postgres, (context) => {
  let server: TestServer;
  let remote: string;
  let work: string;
  let main: string;
  let delivery = 0;

  const deliver = async (event: string, payload: Record<string, unknown>) => {
    const body = JSON.stringify({
      ...payload,
      repository: { full_name: "acme/shop", name: "shop" },
    });
    const response = await fetch(`${server.base}/webhooks/github`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": `d-${++delivery}`,
        "x-hub-signature-256": signBody(SECRET, body),
      },
      body,
    });
    await server.service.idle();
    return response;
  };
  const runs = async (): Promise<Run[]> =>
    (await server.api("viewer", "GET", "/api/v1/repositories/shop/runs")).body;
  const logOf = async (runId: string) => {
    const run = (await server.api("viewer", "GET", `/api/v1/runs/${runId}`)).body;
    const log = await server.api("viewer", "GET", `/api/v1/jobs/${run.jobs[0].id}/logs`);
    return log.body.lines.join("\n") as string;
  };

  beforeAll(async () => {
    if (!context.available) return;
    server = await startTestServer(context.store, { webhookSecret: SECRET });
    remote = join(mkdtempSync(join(tmpdir(), "trunkline-remote-")), "shop.git");
    await git(tmpdir(), "init", "-q", "--bare", "-b", "main", remote);
    ({ dir: work, sha: main } = await committed(
      { ".github/workflows/ci.yml": CI, ".github/workflows/target.yml": TARGET, "app.txt": "v1\n" },
      "first",
    ));
    await git(work, "push", "-q", remote, "main");
    const created = await server.api("admin", "POST", "/api/v1/repositories", {
      name: "shop",
      remoteUrl: remote,
      remoteName: "acme/shop",
    });
    expect(created.status).toBe(201);
    const repo = await context.store.db
      .selectFrom("repositories")
      .select("id")
      .where("name", "=", "shop")
      .executeTakeFirstOrThrow();
    await setSecret(
      context.store.db,
      server.box,
      { kind: "repository", repositoryId: repo.id },
      "API_KEY",
      "s3cr3t-value",
    );
  });
  afterAll(async () => {
    if (context.available) await server.close();
  });

  test.runIf(context.available)(
    "a push delivery fetches the commit from the remote and runs it",
    async () => {
      const response = await deliver("push", {
        ref: "refs/heads/main",
        before: "0".repeat(40),
        after: main,
      });
      expect(response.status).toBe(202);
      const [run] = await runs();
      expect([run?.event, run?.ref, run?.sha, run?.status]).toEqual([
        "push",
        "refs/heads/main",
        main,
        "success",
      ]);
      const log = await logOf(run?.id ?? "");
      expect(log).toContain("event=push ref=refs/heads/main secret=[***]");
      expect(log).toContain("v1");
      // A mirror takes no pushes of its own.
      const push = await git(work, "push", "-q", server.gitUrl("shop"), "main").then(
        () => "pushed",
        (err: Error) => err.message,
      );
      expect(push).toContain("mirrors a remote repository");
    },
  );

  test.runIf(context.available)(
    "a pull request runs on the merge of its head into its base; one from a fork gets no secrets",
    async () => {
      await git(work, "checkout", "-q", "-b", "feature");
      await git(work, "commit", "-q", "--allow-empty", "-m", "feature work");
      const head = (await git(work, "rev-parse", "HEAD")).stdout.trim();
      await git(work, "push", "-q", remote, "HEAD:refs/pull/1/head", "HEAD:refs/pull/2/head");
      await git(work, "checkout", "-q", "main");
      const pr = (number: number, fork: boolean) => ({
        action: "opened",
        number,
        pull_request: {
          number,
          base: { ref: "main", repo: { full_name: "acme/shop" } },
          head: {
            ref: "feature",
            sha: head,
            repo: { full_name: fork ? "mallory/shop" : "acme/shop", fork },
          },
        },
      });
      expect((await deliver("pull_request", pr(1, false))).status).toBe(202);
      expect((await deliver("pull_request", pr(2, true))).status).toBe(202);
      const all = await runs();
      const byRef = (ref: string) => all.find((r) => r.ref === ref && r.event === "pull_request");
      const [forked, same] = [byRef("refs/pull/2/merge"), byRef("refs/pull/1/merge")];
      // Each delivery also ran the pull_request_target workflow, at the base, with secrets.
      const targets = all.filter((r) => r.event === "pull_request_target");
      expect(targets.map((r) => [r.ref, r.sha, r.status])).toEqual([
        ["refs/heads/main", main, "success"],
        ["refs/heads/main", main, "success"],
      ]);
      expect(await logOf(targets[0]?.id ?? "")).toContain(
        `target ref=refs/heads/main sha=${main} secret=[***]`,
      );
      expect([same?.event, same?.ref, same?.status]).toEqual([
        "pull_request",
        "refs/pull/1/merge",
        "success",
      ]);
      expect(forked?.ref).toBe("refs/pull/2/merge");
      // The merge commit has the base and the head as parents.
      const parents = (
        await git(
          server.service.bareOf("shop"),
          "rev-list",
          "--parents",
          "-n",
          "1",
          same?.sha ?? "",
        )
      ).stdout.trim();
      expect(parents).toBe(`${same?.sha} ${main} ${head}`);
      expect(await logOf(same?.id ?? "")).toContain("secret=[***]");
      expect(await logOf(forked?.id ?? "")).toContain(
        "event=pull_request ref=refs/pull/2/merge secret=[]",
      );
    },
  );

  test.runIf(context.available)(
    "a pull request that conflicts with its base runs nothing",
    async () => {
      await git(work, "checkout", "-q", "-b", "conflict", main);
      await git(work, "rm", "-q", "app.txt");
      await git(work, "commit", "-q", "-m", "remove app.txt");
      const head = (await git(work, "rev-parse", "HEAD")).stdout.trim();
      await git(work, "push", "-q", remote, "HEAD:refs/pull/3/head");
      await git(work, "checkout", "-q", "main");
      // main changes app.txt meanwhile
      await git(work, "commit", "-q", "--allow-empty", "-m", "noop");
      const { writeFileSync } = await import("node:fs");
      writeFileSync(join(work, "app.txt"), "v2\n");
      await git(work, "commit", "-q", "-am", "v2");
      await git(work, "push", "-q", remote, "main");
      const intent = readWebhook("pull_request", {
        action: "synchronize",
        number: 3,
        pull_request: {
          base: { ref: "main", repo: { full_name: "acme/shop" } },
          head: { ref: "conflict", sha: head, repo: { full_name: "acme/shop" } },
        },
      });
      const result = await runWebhook(
        server.service,
        { name: "shop", defaultBranch: "main", remoteUrl: remote },
        intent,
        {},
      );
      expect(result).toEqual({
        errors: ["pull_request #3: conflict does not merge cleanly into main"],
      });
    },
  );

  test.runIf(context.available)(
    "create and workflow_dispatch deliveries start their runs",
    async () => {
      await git(work, "tag", "v1.0.0");
      await git(work, "push", "-q", remote, "v1.0.0");
      const before = (await runs()).length;
      expect((await deliver("create", { ref: "v1.0.0", ref_type: "tag" })).status).toBe(202);
      expect(
        (
          await deliver("workflow_dispatch", {
            workflow: ".github/workflows/ci.yml",
            ref: "refs/heads/main",
            inputs: { note: "from-hook" },
          })
        ).status,
      ).toBe(202);
      const fresh = (await runs()).slice(0, (await runs()).length - before);
      expect(fresh.map((r) => [r.event, r.ref, r.status]).sort()).toEqual([
        ["create", "refs/tags/v1.0.0", "success"],
        ["workflow_dispatch", "refs/heads/main", "success"],
      ]);
      const dispatched = fresh.find((r) => r.event === "workflow_dispatch");
      expect(await logOf(dispatched?.id ?? "")).toContain("note=from-hook");
      expect(server.errors).toEqual([]);
    },
  );
});
