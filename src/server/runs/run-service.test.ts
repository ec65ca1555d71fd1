import { afterAll, beforeAll, expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { committed, git } from "../../../test/helpers/git.js";
import { startTestServer, type TestServer } from "../../../test/helpers/server.js";
import { setSecret } from "../../secrets/secret-store.js";
import { readEvents } from "../../store/event-log.js";

const WORKFLOW = `name: CI
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "building $GITHUB_SHA" && test -f README.md
      - run: test "\${{ secrets.DEPLOY_KEY }}" = k3y && echo "secret is \${{ secrets.DEPLOY_KEY }}"
  test:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: echo tested
`;

const postgres = await postgresAvailable();

type Job = { id: string; key: string; status: string; reason: string | null };

describeOnEachDatabase("the server's runs", postgres, (context) => {
  let server: TestServer;

  beforeAll(async () => {
    if (!context.available) return;
    server = await startTestServer(context.store);
    await server.api("admin", "POST", "/api/v1/repositories", { name: "app" });
    const repo = await context.store.db
      .selectFrom("repositories")
      .select("id")
      .executeTakeFirstOrThrow();
    const scope = { kind: "repository", repositoryId: repo.id } as const;
    await setSecret(context.store.db, server.box, scope, "DEPLOY_KEY", "k3y");
    await setSecret(context.store.db, server.box, scope, "TARGET", "repo-level");
  });
  afterAll(async () => {
    if (context.available) await server.close();
  });

  const runsOf = async (workflow: string) =>
    (await server.api("viewer", "GET", "/api/v1/repositories/app/runs")).body.filter(
      (r: { workflow: string }) => r.workflow === workflow,
    );

  test.runIf(context.available)(
    "a push runs its workflows; runs, jobs and masked logs are in the API",
    async () => {
      const { dir: work } = await committed(
        { ".github/workflows/ci.yml": WORKFLOW, "README.md": "hello\n" },
        "first",
      );
      await git(work, "push", "-q", server.gitUrl("app"), "main", "main:feature/x");
      await server.service.idle();
      const list = await runsOf("CI");
      expect(list.map((r: { ref: string; status: string }) => [r.ref, r.status])).toEqual([
        ["refs/heads/main", "success"],
      ]);
      const run = (await server.api("viewer", "GET", `/api/v1/runs/${list[0].id}`)).body;
      expect(run.jobs.map((j: Job) => [j.key, j.status])).toEqual([
        [".github/workflows/ci.yml / build", "success"],
        [".github/workflows/ci.yml / test", "success"],
      ]);
      const byNumber = (
        await server.api("viewer", "GET", `/api/v1/repositories/app/runs/${run.number}`)
      ).body;
      expect(byNumber.id).toBe(run.id);
      const build = run.jobs.find((j: Job) => j.key.endsWith("build"));
      const logs = (await server.api("viewer", "GET", `/api/v1/jobs/${build.id}/logs`)).body;
      expect(logs.lines.join("\n")).toContain("secret is ***");
      expect(logs.lines.join("\n")).not.toContain("k3y");
      expect(server.errors).toEqual([]);
    },
  );

  test.runIf(context.available)(
    "a job calling a reusable workflow of the commit runs its jobs under its key, with the secret it passes",
    async () => {
      const { dir: work } = await committed(
        {
          ".github/workflows/caller.yml": `name: Caller
on: push
jobs:
  deploy:
    uses: ./.github/workflows/deploy.yml
    with:
      target: staging
    secrets:
      key: \${{ secrets.DEPLOY_KEY }}
  after:
    needs: deploy
    runs-on: ubuntu-latest
    steps:
      - run: test "\${{ needs.deploy.outputs.where }}" = staging
`,
          ".github/workflows/deploy.yml": `name: Deploy
on:
  workflow_call:
    inputs:
      target: { type: string, required: true }
    secrets:
      key: { required: true }
    outputs:
      where: { value: "\${{ jobs.ship.outputs.where }}" }
jobs:
  ship:
    runs-on: ubuntu-latest
    outputs:
      where: \${{ steps.s.outputs.where }}
    steps:
      - id: s
        run: |
          test "\${{ secrets.key }}" = k3y && echo "shipping with \${{ secrets.key }}"
          echo "where=\${{ inputs.target }}" >> "$GITHUB_OUTPUT"
`,
        },
        "reusable",
      );
      await git(work, "push", "-q", "-f", server.gitUrl("app"), "main");
      await server.service.idle();
      const [listed] = await runsOf("Caller");
      const run = (await server.api("viewer", "GET", `/api/v1/runs/${listed.id}`)).body;
      expect(run.status).toBe("success");
      expect(run.jobs.map((j: Job) => [j.key, j.status]).sort()).toEqual([
        [".github/workflows/caller.yml / after", "success"],
        [".github/workflows/caller.yml / deploy / ship", "success"],
        [".github/workflows/caller.yml / deploy", "success"],
      ]);
      expect(await runsOf("Deploy")).toEqual([]);
      const ship = run.jobs.find((j: Job) => j.key.endsWith("ship"));
      const logs = (await server.api("viewer", "GET", `/api/v1/jobs/${ship.id}/logs`)).body;
      expect(logs.lines.join("\n")).toContain("shipping with ***");
      expect(server.errors).toEqual([]);
    },
  );

  test.runIf(context.available)(
    "a pushed commit whose message says [skip ci] starts no run; the next one does, with its message in github.event",
    async () => {
      const { dir: work } = await committed(
        {
          ".github/workflows/skippable.yml": `name: Skippable
on: push
jobs:
  show:
    runs-on: ubuntu-latest
    steps:
      - run: test "\${{ github.event.head_commit.message }}" = "Real change"
`,
        },
        "Docs only [skip ci]",
      );
      await git(work, "push", "-q", "-f", server.gitUrl("app"), "main");
      await server.service.idle();
      expect(await runsOf("Skippable")).toEqual([]);
      await git(work, "commit", "-q", "--allow-empty", "-m", "Real change");
      await git(work, "push", "-q", "-f", server.gitUrl("app"), "main");
      await server.service.idle();
      const runs = await runsOf("Skippable");
      expect(runs.map((r: { status: string }) => r.status)).toEqual(["success"]);
    },
  );

  test.runIf(context.available)(
    "a run that ends starts the workflows listening to its workflow's runs (workflow_run), three links deep at most",
    async () => {
      const { dir: work, sha } = await committed(
        {
          ".github/workflows/build.yml": `name: Build
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo built
`,
          ".github/workflows/deploy.yml": `name: Deploy after build
on:
  workflow_run:
    workflows: [Build]
    types: [completed]
    branches: [main]
jobs:
  deploy:
    if: github.event.workflow_run.conclusion == 'success'
    runs-on: ubuntu-latest
    steps:
      - run: |
          test "\${{ github.event_name }}" = workflow_run
          test "\${{ github.event.workflow_run.name }}" = Build
          test "\${{ github.event.workflow_run.head_branch }}" = main
          test "\${{ github.event.workflow_run.head_sha }}" = "\${{ github.sha }}"
`,
          ".github/workflows/loop.yml": `name: Loop
on:
  push:
  workflow_run:
    workflows: [Loop]
    types: [completed]
jobs:
  again:
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ github.event_name }}"
`,
          ".github/workflows/requested.yml": `name: On request
on:
  workflow_run:
    workflows: [Build]
    types: [requested]
jobs:
  note:
    runs-on: ubuntu-latest
    steps:
      - run: |
          test "\${{ github.event.action }}" = requested
          test -z "\${{ github.event.workflow_run.conclusion }}"
`,
          ".github/workflows/other.yml": `name: Not listening
on:
  workflow_run:
    workflows: [Somebody else]
jobs:
  never:
    runs-on: ubuntu-latest
    steps:
      - run: exit 1
`,
        },
        "workflow_run chain",
      );
      await git(work, "push", "-q", "-f", server.gitUrl("app"), "main");
      await server.service.idle();
      const deploys = await runsOf("Deploy after build");
      expect(
        deploys.map((r: { event: string; status: string; sha: string }) => [
          r.event,
          r.status,
          r.sha,
        ]),
      ).toEqual([["workflow_run", "success", sha]]);
      const deploy = (await server.api("viewer", "GET", `/api/v1/runs/${deploys[0].id}`)).body;
      expect(deploy.jobs.map((j: Job) => j.status)).toEqual(["success"]);
      const loops = await runsOf("Loop");
      expect(loops.map((r: { event: string }) => r.event).sort()).toEqual([
        "push",
        "workflow_run",
        "workflow_run",
        "workflow_run",
      ]);
      expect((await runsOf("On request")).map((r: { status: string }) => r.status)).toEqual([
        "success",
      ]);
      expect(await runsOf("Not listening")).toEqual([]);
      expect(server.errors).toEqual([]);
    },
  );

  test.runIf(context.available)(
    "a running run is cancelled through the API; a viewer may not",
    async () => {
      const { dir: work } = await committed(
        {
          ".github/workflows/slow.yml":
            "name: Slow\non: push\njobs:\n  wait:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo started && sleep 30\n",
        },
        "slow",
      );
      await git(work, "push", "-q", "-f", server.gitUrl("app"), "main");
      let run: { id: string; status: string } | undefined;
      for (let i = 0; i < 200 && run?.status !== "in_progress"; i++) {
        await new Promise((r) => setTimeout(r, 50));
        [run] = await runsOf("Slow");
      }
      expect((await server.api("viewer", "POST", `/api/v1/runs/${run?.id}/cancel`)).status).toBe(
        403,
      );
      expect((await server.api("developer", "POST", `/api/v1/runs/${run?.id}/cancel`)).status).toBe(
        202,
      );
      await server.service.idle();
      const after = (await server.api("viewer", "GET", `/api/v1/runs/${run?.id}`)).body;
      expect(after.status).toBe("cancelled");
      expect(after.jobs.map((j: Job) => j.status)).toEqual(["cancelled"]);
      // The log says who cancelled it, before it says cancelled.
      const log = await readEvents(context.store.db, { runId: run?.id ?? "" });
      const asked = log.findIndex((e) => e.type === "run.cancel_requested");
      expect(log[asked]?.data).toEqual({
        type: "run.cancel_requested",
        version: 1,
        runId: run?.id,
        actor: { kind: "user", name: "developer" },
        at: expect.any(Number),
      });
      expect(asked).toBeLessThan(log.findIndex((e) => e.type === "run.finished"));
      expect(
        (await server.api("developer", "POST", `/api/v1/runs/${run?.id}/cancel`)).body,
      ).toEqual({
        code: "not_running",
        message: `run '${run?.id}' is not running (cancelled)`,
      });
    },
  );

  test.runIf(context.available)(
    "a job no runner can take waits and says why; cancelling the run withdraws it",
    async () => {
      const { dir: work } = await committed(
        {
          ".github/workflows/gpu.yml":
            "name: GPU\non: push\njobs:\n  train:\n    runs-on: [self-hosted, GPU]\n    steps:\n      - run: echo never\n",
        },
        "gpu",
      );
      await git(work, "push", "-q", "-f", server.gitUrl("app"), "main");
      let job: Job | undefined;
      let runId = "";
      for (let i = 0; i < 1200 && !job?.reason; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const [run] = await runsOf("GPU");
        runId = run?.id ?? "";
        if (runId) [job] = (await server.api("viewer", "GET", `/api/v1/runs/${runId}`)).body.jobs;
      }
      // Withdrawn whatever happens, so the runs of later tests are not held up behind it.
      const cancelled = await server.api("developer", "POST", `/api/v1/runs/${runId}/cancel`);
      expect([job?.status, job?.reason]).toEqual([
        "queued",
        "no runner with labels [gpu, self-hosted]",
      ]);
      expect(cancelled.status).toBe(202);
      await server.service.idle();
      const after = (await server.api("viewer", "GET", `/api/v1/runs/${runId}`)).body;
      expect([after.status, after.jobs[0].status]).toEqual(["cancelled", "cancelled"]);
    },
  );

  test.runIf(context.available)("manual dispatch with typed inputs, and its refusals", async () => {
    const { dir: work } = await committed(
      {
        ".github/workflows/deploy.yml": [
          "name: Deploy",
          "on:",
          "  workflow_dispatch:",
          "    inputs:",
          "      target:",
          "        type: choice",
          "        options: [staging, production]",
          "        required: true",
          "      dry-run:",
          "        type: boolean",
          "        default: false",
          "jobs:",
          "  deploy:",
          "    runs-on: ubuntu-latest",
          "    steps:",
          '      - run: test "${{ inputs.target }}" = staging && test "${{ inputs.dry-run }}" = true',
          "",
        ].join("\n"),
      },
      "deploy",
    );
    await git(work, "push", "-q", "-f", server.gitUrl("app"), "main");
    await server.service.idle();
    const dispatch = (payload: Record<string, unknown>) =>
      server.api("developer", "POST", "/api/v1/repositories/app/dispatch", payload);
    expect((await dispatch({ workflow: "deploy.yml", inputs: { target: "qa" } })).body).toEqual({
      code: "cannot_dispatch",
      message:
        ".github/workflows/deploy.yml: input 'target' must be one of staging, production, not 'qa'",
    });
    expect((await dispatch({ workflow: "nope.yml" })).body.message).toBe(
      "no valid workflow 'nope.yml' at refs/heads/main",
    );
    expect((await dispatch({ workflow: "deploy.yml", ref: "gone" })).body.message).toBe(
      "no ref 'gone' in app",
    );
    const ok = await dispatch({
      workflow: "deploy.yml",
      inputs: { target: "staging", "dry-run": "true" },
    });
    expect(ok.status).toBe(201);
    await server.service.idle();
    const run = (await server.api("viewer", "GET", `/api/v1/runs/${ok.body.runIds[0]}`)).body;
    expect([run.event, run.status]).toEqual(["workflow_dispatch", "success"]);
  });

  test.runIf(context.available)(
    "re-runs: all jobs, or only the failed ones and their dependants, keeping earlier attempts",
    async () => {
      // `flaky` fails until a marker file exists; `report` needs it; `lint` does not.
      const marker = `/tmp/trunkline-rerun-${context.dialect}-${Date.now()}`;
      const { dir: work } = await committed(
        {
          ".github/workflows/flaky.yml": [
            "name: Flaky",
            "on: push",
            "jobs:",
            "  lint:",
            "    runs-on: ubuntu-latest",
            "    outputs: { at: '${{ steps.s.outputs.at }}' }",
            "    steps:",
            '      - { id: s, run: "echo at=$GITHUB_RUN_ATTEMPT >> $GITHUB_OUTPUT" }',
            "  flaky:",
            "    runs-on: ubuntu-latest",
            "    steps:",
            `      - run: test -f ${marker}`,
            "  report:",
            "    needs: [lint, flaky]",
            "    runs-on: ubuntu-latest",
            "    steps:",
            '      - run: echo "lint ran in attempt ${{ needs.lint.outputs.at }}; this is attempt $GITHUB_RUN_ATTEMPT"',
            "",
          ].join("\n"),
        },
        "flaky",
      );
      await git(work, "push", "-q", "-f", server.gitUrl("app"), "main");
      await server.service.idle();
      const [run] = await runsOf("Flaky");
      expect(run.status).toBe("failure");
      const statuses = (body: { jobs: Job[] }) =>
        Object.fromEntries(body.jobs.map((j) => [j.key.split(" / ")[1], j.status]));

      // A re-run of failed jobs while it is running is refused; unknown runs are 404s.
      expect((await server.api("developer", "POST", "/api/v1/runs/nope/rerun", {})).status).toBe(
        404,
      );
      expect((await server.api("viewer", "POST", `/api/v1/runs/${run.id}/rerun`, {})).status).toBe(
        403,
      );

      const { writeFileSync, rmSync } = await import("node:fs");
      writeFileSync(marker, "");
      try {
        const failed = await server.api("developer", "POST", `/api/v1/runs/${run.id}/rerun`, {
          failedOnly: true,
        });
        expect(failed).toEqual({ status: 202, body: { attempt: 2 } });
        expect(
          (await server.api("developer", "POST", `/api/v1/runs/${run.id}/rerun`, {})).body.code,
        ).toBe("running");
        await server.service.idle();
        const second = (await server.api("viewer", "GET", `/api/v1/runs/${run.id}`)).body;
        expect([second.attempt, second.status]).toEqual([2, "success"]);
        expect(statuses(second)).toEqual({ flaky: "success", lint: "success", report: "success" });
        expect(second.jobs.find((j: Job) => j.key.endsWith("lint")).reason).toBe(
          "reused from attempt 1",
        );
        const report = second.jobs.find((j: Job) => j.key.endsWith("report"));
        const log = (await server.api("viewer", "GET", `/api/v1/jobs/${report.id}/logs`)).body;
        expect(log.lines.join("\n")).toContain("lint ran in attempt 1; this is attempt 2");

        // The first attempt is still there, as it was.
        const first = (await server.api("viewer", "GET", `/api/v1/runs/${run.id}?attempt=1`)).body;
        expect(statuses(first)).toEqual({ flaky: "failure", lint: "success", report: "skipped" });

        // A re-run of everything runs lint again too.
        expect(
          (await server.api("developer", "POST", `/api/v1/runs/${run.id}/rerun`)).body,
        ).toEqual({ attempt: 3 });
        await server.service.idle();
        const third = (await server.api("viewer", "GET", `/api/v1/runs/${run.id}`)).body;
        // Each re-run is in the run's log with who asked for it.
        const reruns = (await readEvents(context.store.db, { runId: run.id }))
          .filter((e) => e.type === "run.rerun")
          .map((e) => e.data);
        expect(reruns).toEqual([
          expect.objectContaining({
            attempt: 2,
            failedOnly: true,
            actor: { kind: "user", name: "developer" },
          }),
          expect.objectContaining({
            attempt: 3,
            failedOnly: false,
            actor: { kind: "user", name: "developer" },
          }),
        ]);
        expect(third.jobs.every((j: Job) => j.reason === null)).toBe(true);
        const report3 = third.jobs.find((j: Job) => j.key.endsWith("report"));
        const log3 = (await server.api("viewer", "GET", `/api/v1/jobs/${report3.id}/logs`)).body;
        expect(log3.lines.join("\n")).toContain("lint ran in attempt 3; this is attempt 3");
      } finally {
        rmSync(marker, { force: true });
      }
    },
  );

  test.runIf(context.available)(
    "a job deploying to an environment gets that environment's secrets, other jobs do not",
    async () => {
      expect(
        (
          await server.api(
            "developer",
            "PUT",
            "/api/v1/repositories/app/environments/staging/secrets/TARGET",
            {
              value: "staging-level",
            },
          )
        ).status,
      ).toBe(403);
      expect(
        (
          await server.api(
            "maintainer",
            "PUT",
            "/api/v1/repositories/app/environments/staging/secrets/TARGET",
            {
              value: "staging-level",
            },
          )
        ).status,
      ).toBe(204);
      expect(
        (await server.api("admin", "PUT", "/api/v1/secrets/ORG_WIDE", { value: "org" })).status,
      ).toBe(204);
      const { dir: work } = await committed(
        {
          ".github/workflows/env.yml": [
            "name: Env",
            "on: push",
            "jobs:",
            "  plain:",
            "    runs-on: ubuntu-latest",
            "    steps:",
            '      - run: test "${{ secrets.TARGET }}" = repo-level && test "${{ secrets.ORG_WIDE }}" = org',
            "  deploy:",
            "    runs-on: ubuntu-latest",
            "    environment: staging",
            "    steps:",
            '      - run: test "${{ secrets.TARGET }}" = staging-level && echo "target ${{ secrets.TARGET }}"',
            "",
          ].join("\n"),
        },
        "env",
      );
      await git(work, "push", "-q", "-f", server.gitUrl("app"), "main");
      await server.service.idle();
      const [run] = await runsOf("Env");
      const shown = (await server.api("viewer", "GET", `/api/v1/runs/${run.id}`)).body;
      expect(shown.jobs.map((j: Job) => [j.key.split(" / ")[1], j.status])).toEqual([
        ["deploy", "success"],
        ["plain", "success"],
      ]);
      const deploy = shown.jobs.find((j: Job) => j.key.endsWith("deploy"));
      const log = (await server.api("viewer", "GET", `/api/v1/jobs/${deploy.id}/logs`)).body;
      expect(log.lines.join("\n")).toContain("target ***");
      const listed = await server.api(
        "viewer",
        "GET",
        "/api/v1/repositories/app/environments/staging/secrets",
      );
      expect(listed.body.map((s: { name: string }) => s.name)).toEqual(["TARGET"]);
      expect(JSON.stringify(listed.body)).not.toContain("staging-level");
    },
  );
});
