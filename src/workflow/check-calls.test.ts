import { describe, expect, it } from "vitest";
import { workflowFrom } from "../../test/helpers/workflow.js";
import { checkCalls } from "./check-calls.js";
import type { Workflow } from "./model.js";

const REUSABLE = `on:
  workflow_call:
    inputs:
      target: { type: string, required: true }
      dry-run: { type: boolean, default: false }
      replicas: { type: number, required: false }
    secrets:
      token: { required: true }
      optional: {}
jobs:
  a: { runs-on: ubuntu-latest, steps: [{ run: echo }] }
`;
const PLAIN = `on: push
jobs:
  a: { runs-on: ubuntu-latest, steps: [{ run: echo }] }
`;

async function check(job: string): Promise<string[]> {
  const caller = await workflowFrom(`on: push\njobs:\n  call:\n${job}`, "ci.yml");
  const targets = new Map<string, Workflow | Error>([
    ["./.github/workflows/r.yml", await workflowFrom(REUSABLE, ".github/workflows/r.yml")],
    ["./.github/workflows/plain.yml", await workflowFrom(PLAIN, ".github/workflows/plain.yml")],
    ["./.github/workflows/gone.yml", new Error("no file .github/workflows/gone.yml")],
  ]);
  return checkCalls(caller, targets).map((d) => `${d.position.line}: ${d.message}`);
}

describe("checkCalls", () => {
  it.each([
    [
      "a call that fits",
      "    uses: ./.github/workflows/r.yml\n    with: { target: x, dry-run: true, replicas: 2 }\n    secrets: { token: t }\n",
    ],
    [
      "expressions, and secrets: inherit",
      "    uses: ./.github/workflows/r.yml\n    with:\n      target: ${{ github.ref }}\n      dry-run: ${{ github.event_name == 'push' }}\n    secrets: inherit\n",
    ],
    ["another repository's workflow", "    uses: octo/tools/.github/workflows/x.yml@v1\n"],
  ])("accepts %s", async (_what, job) => {
    expect(await check(job)).toEqual([]);
  });

  it.each([
    [
      "a reference of the wrong form",
      "    uses: ./ci/build.yml\n",
      [
        "3: jobs.call: uses: './ci/build.yml' is not valid: a reusable workflow must be a .yml or .yaml file directly in .github/workflows",
      ],
    ],
    [
      "a workflow that is not there",
      "    uses: ./.github/workflows/gone.yml\n",
      [
        "3: jobs.call: uses: cannot read './.github/workflows/gone.yml': no file .github/workflows/gone.yml",
      ],
    ],
    [
      "a workflow that is not reusable",
      "    uses: ./.github/workflows/plain.yml\n",
      [
        "3: jobs.call: uses: './.github/workflows/plain.yml' is not a reusable workflow: it has no on.workflow_call",
      ],
    ],
    [
      "an unknown input, a mistyped one and a missing one",
      "    uses: ./.github/workflows/r.yml\n    with:\n      colour: red\n      dry-run: 'yes'\n      replicas: many\n    secrets: { token: t }\n",
      [
        "6: jobs.call: with.colour: the called workflow defines no input 'colour' (it has target, dry-run, replicas)",
        `7: jobs.call: with.dry-run: input 'dry-run' is a boolean: write true or false, not "yes"`,
        `8: jobs.call: with.replicas: input 'replicas' is a number, not "many"`,
        "3: jobs.call: with: the called workflow requires input 'target'",
      ],
    ],
    [
      "an undeclared secret and a missing required one",
      "    uses: ./.github/workflows/r.yml\n    with: { target: x }\n    secrets:\n      tokn: t\n",
      [
        "7: jobs.call: secrets.tokn: the called workflow declares no secret 'tokn'",
        "3: jobs.call: secrets: the called workflow requires secret 'token' (or secrets: inherit)",
      ],
    ],
  ])("reports %s", async (_what, job, messages) => {
    expect(await check(job)).toEqual(messages);
  });
});
