import { describe, expect, test } from "vitest";
import { workflowFrom } from "../../test/helpers/workflow.js";
import { readRepoConfig } from "../config/repo-config.js";
import type { TriggerEvent } from "../triggers/event.js";
import { planRun } from "./plan-run.js";

const SHA = "b".repeat(40);
const pushTo = (ref: string): TriggerEvent => ({ name: "push", ref, sha: SHA });

async function states(yaml: string, event: TriggerEvent, configYaml = "") {
  const workflow = await workflowFrom(yaml);
  const config = readRepoConfig("config.yml", configYaml).config;
  const plan = planRun([workflow], event, { config, vars: { FLAG: "on" } });
  return plan.workflows[0]?.jobs.map((j) => [j.key, j.state, j.reason]) ?? [];
}

const jobs = (body: string) => `on: [push, workflow_dispatch]\njobs:\n${body}`;
const job = (id: string, extra = "") =>
  `  ${id}:\n    runs-on: ubuntu-latest\n${extra}    steps: [{ run: echo }]\n`;

describe("planning jobs", () => {
  test("a skipped job skips the jobs that need it, unless they use always()", async () => {
    const yaml = jobs(
      job("a", "    if: github.ref == 'refs/heads/main'\n") +
        job("b", "    needs: a\n") +
        job("c", "    needs: b\n    if: always()\n") +
        job("d", "    needs: a\n    if: failure()\n"),
    );
    expect(await states(yaml, pushTo("refs/heads/dev"))).toEqual([
      ["a", "skipped", "if: github.ref == 'refs/heads/main' is false"],
      ["b", "skipped", "needed job 'a' will not succeed"],
      ["c", "will-run", "will run"],
      ["d", "skipped", "if: failure() is false"],
    ]);
  });

  test("conditions on needs' results or outputs depend on the run", async () => {
    const yaml = jobs(
      job("a") +
        job("b", "    needs: a\n    if: needs.a.outputs.go == 'yes'\n") +
        job("c", "    needs: b\n"),
    );
    expect(await states(yaml, pushTo("refs/heads/main"))).toEqual([
      ["a", "will-run", "will run"],
      [
        "b",
        "depends-on-runtime",
        "if: needs.a.outputs.go == 'yes' reads the results or outputs of needed jobs",
      ],
      ["c", "depends-on-runtime", "if: success() depends on how the needed jobs end"],
    ]);
  });

  test("always() after an undecided job still runs; success() after it is undecided", async () => {
    const yaml = jobs(
      job("a", "    if: needs == null || true\n") + job("b", "    needs: a\n    if: always()\n"),
    );
    const result = await states(yaml, pushTo("refs/heads/main"));
    expect(result.map(([k, s]) => [k, s])).toEqual([
      ["a", "depends-on-runtime"],
      ["b", "will-run"],
    ]);
  });

  test("vars, inputs and the github context are available to if:", async () => {
    const yaml = `on:\n  workflow_dispatch:\n    inputs:\n      deploy:\n        type: boolean\n        default: false\njobs:\n${job("x", "    if: vars.FLAG == 'on' && inputs.deploy && github.event_name == 'workflow_dispatch'\n")}`;
    const dispatch = (deploy: string): TriggerEvent => ({
      name: "workflow_dispatch",
      ref: "refs/heads/main",
      sha: SHA,
      inputs: { deploy },
    });
    expect((await states(yaml, dispatch("true")))[0]?.[1]).toBe("will-run");
    expect((await states(yaml, dispatch("false")))[0]?.[1]).toBe("skipped");
  });

  test("invalid dispatch inputs stop the workflow with the reasons", async () => {
    const yaml = `on:\n  workflow_dispatch:\n    inputs:\n      env:\n        type: choice\n        options: [dev, prod]\n        required: true\njobs:\n${job("x")}`;
    const workflow = await workflowFrom(yaml);
    const plan = planRun([workflow], {
      name: "workflow_dispatch",
      ref: "refs/heads/main",
      sha: SHA,
      inputs: { env: "qa", x: "1" },
    });
    expect(plan.workflows[0]?.errors).toEqual([
      "unexpected input 'x'; the workflow defines env",
      "input 'env' must be one of dev, prod, not 'qa'",
    ]);
    expect(plan.workflows[0]?.jobs).toEqual([]);
  });

  test("matrix jobs appear once per combination with GitHub's names", async () => {
    const yaml = jobs(
      job(
        "test",
        "    strategy:\n      max-parallel: 2\n      matrix:\n        os: [linux, mac]\n        node: [18, 20]\n        exclude:\n          - os: mac\n            node: 18\n",
      ),
    );
    const workflow = await workflowFrom(yaml);
    const plan = planRun([workflow], pushTo("refs/heads/main"));
    expect(plan.workflows[0]?.jobs.map((j) => [j.key, j.maxParallel, j.matrix])).toEqual([
      ["test (linux, 18)", 2, { os: "linux", node: 18 }],
      ["test (linux, 20)", 2, { os: "linux", node: 20 }],
      ["test (mac, 20)", 2, { os: "mac", node: 20 }],
    ]);
  });

  test("runs-on and environment may read the matrix", async () => {
    const yaml = jobs(
      "  deploy:\n    strategy:\n      matrix:\n        env: [dev, prod]\n    runs-on: ${{ matrix.env }}-runner\n    environment: ${{ matrix.env }}\n    steps: [{ run: echo }]\n",
    );
    const config = "environments:\n  prod:\n    wait-timer: 5\n";
    const workflow = await workflowFrom(yaml);
    const plan = planRun([workflow], pushTo("refs/heads/main"));
    expect(plan.workflows[0]?.jobs.map((j) => j.runsOn)).toEqual([["dev-runner"], ["prod-runner"]]);
    expect(await states(yaml, pushTo("refs/heads/main"), config)).toEqual([
      ["deploy (dev)", "will-run", "will run, deploying to 'dev'"],
      ["deploy (prod)", "waits-for-timer", "environment 'prod' waits 5 minutes"],
    ]);
  });

  test("environments hold jobs for approval or refuse refs their policy does not allow", async () => {
    const config = [
      "environments:",
      "  staging:",
      "    reviewers: [ana]",
      "    deployment-branches: [main, 'release/*']",
      "  production:",
      "    reviewers: [ana, bo]",
      "    required-approvals: 2",
      "    deployment-tags: ['v*']",
    ].join("\n");
    const yaml = jobs(
      job("stage", "    environment: staging\n") +
        job("prod", "    environment:\n      name: production\n      url: https://example.com\n"),
    );
    expect(await states(yaml, pushTo("refs/heads/release/2"), config)).toEqual([
      ["stage", "waits-for-approval", "environment 'staging' needs 1 approval from ana"],
      [
        "prod",
        "blocked",
        "environment 'production' does not allow deployments from refs/heads/release/2",
      ],
    ]);
    expect(await states(yaml, pushTo("refs/tags/v2"), config)).toEqual([
      ["stage", "blocked", "environment 'staging' does not allow deployments from refs/tags/v2"],
      ["prod", "waits-for-approval", "environment 'production' needs 2 approvals from ana, bo"],
    ]);
  });

  test("a blocked job fails: jobs that need it are skipped, failure() handlers run", async () => {
    const config = "environments:\n  prod:\n    deployment-branches: [main]\n";
    const yaml = jobs(
      job("deploy", "    environment: prod\n") +
        job("next", "    needs: deploy\n") +
        job("page", "    needs: deploy\n    if: failure()\n"),
    );
    expect((await states(yaml, pushTo("refs/heads/dev"), config)).map(([k, s]) => [k, s])).toEqual([
      ["deploy", "blocked"],
      ["next", "skipped"],
      ["page", "will-run"],
    ]);
  });

  test("an expression that cannot be evaluated blocks the job", async () => {
    const yaml = jobs(job("a", "    if: fromJSON('{')\n"));
    const [row] = await states(yaml, pushTo("refs/heads/main"));
    expect(row?.[1]).toBe("blocked");
    expect(row?.[2]).toMatch(/cannot evaluate/);
  });

  test("workflows that do not fire say why", async () => {
    const workflow = await workflowFrom(`on:\n  push:\n    tags: ['v*']\njobs:\n${job("a")}`);
    const plan = planRun([workflow], pushTo("refs/heads/main"));
    expect(plan.workflows[0]).toMatchObject({
      fires: false,
      reason: "push filters tags only; branch main is ignored",
      jobs: [],
    });
  });

  test("needs layers follow the DAG, not the order of the file", async () => {
    const yaml = jobs(job("z", "    needs: [y, x]\n") + job("y", "    needs: x\n") + job("x"));
    const workflow = await workflowFrom(yaml);
    const plan = planRun([workflow], pushTo("refs/heads/main"));
    expect(plan.workflows[0]?.jobs.map((j) => [j.id, j.layer])).toEqual([
      ["z", 2],
      ["y", 1],
      ["x", 0],
    ]);
  });
});
