import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";
import { tempRepo } from "./helpers/temp-repo.js";

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

// Three legs are each mid-step (a script, a node action, a composite action) when the fourth
// fails; it fails only once all three have said they started, so fail-fast interrupts them.
const WORKFLOW = `
name: legs
on: push
jobs:
  legs:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        kind: [breaks, script, node, composite]
    env:
      DIR: \${{ vars.DIR }}
    steps:
      - if: matrix.kind == 'breaks'
        run: |
          until [ -f "$DIR/script" ] && [ -f "$DIR/node" ] && [ -f "$DIR/composite" ]; do sleep 0.05; done
          exit 1
      - if: matrix.kind == 'script'
        run: |
          touch "$DIR/script"
          while :; do sleep 1; done
      - if: matrix.kind == 'node'
        uses: ./.github/actions/spin
      - if: matrix.kind == 'composite'
        uses: ./.github/actions/composite
`;
const NODE_ACTION = "name: spin\nruns:\n  using: node20\n  main: index.js\n";
const NODE_MAIN = `require("node:fs").writeFileSync(process.env.DIR + "/node", "");
setInterval(() => {}, 1000);
`;
const COMPOSITE_ACTION = `name: composite
runs:
  using: composite
  steps:
    - shell: bash
      run: |
        touch "$DIR/composite"
        while :; do sleep 1; done
`;

interface Line {
  type: string;
  job?: string;
  name?: string;
  stage?: string;
  outcome?: string;
  conclusion?: string;
  status?: string;
  annotation?: { level: string; message: string };
}

describe("a job cancelled by fail-fast", () => {
  test("records the step it interrupted as cancelled, with no error of its own", async () => {
    const repo = tempRepo(
      {
        ".github/workflows/legs.yml": WORKFLOW,
        ".github/actions/spin/action.yml": NODE_ACTION,
        ".github/actions/spin/index.js": NODE_MAIN,
        ".github/actions/composite/action.yml": COMPOSITE_ACTION,
      },
      { git: true },
    );
    const markers = mkdtempSync(join(tmpdir(), "trunkline-markers-"));
    const runDir = mkdtempSync(join(tmpdir(), "trunkline-run-"));
    cleanups.push(repo.cleanup, () => {
      rmSync(markers, { recursive: true, force: true });
      rmSync(runDir, { recursive: true, force: true });
    });
    const result = await runCli([
      "run",
      "-C",
      repo.dir,
      "--var",
      `DIR=${markers}`,
      "--jobs",
      "4",
      "--run-dir",
      runDir,
    ]);
    expect(result.code).toBe(1);

    const events = readFileSync(join(runDir, "events.ndjson"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Line);
    const leg = (kind: string) => `.github/workflows/legs.yml / legs (${kind})`;
    const statuses = Object.fromEntries(
      events.filter((e) => e.type === "job.finished").map((e) => [e.job, e.status]),
    );
    expect(statuses).toEqual({
      [leg("breaks")]: "failure",
      [leg("script")]: "cancelled",
      [leg("node")]: "cancelled",
      [leg("composite")]: "cancelled",
    });
    const ran = (kind: string) =>
      events
        .filter((e) => e.type === "step.finished" && e.job === leg(kind))
        .filter((e) => e.outcome !== "skipped")
        .map((e) => [e.name, e.outcome, e.conclusion]);
    expect(ran("script")).toEqual([['Run touch "$DIR/script"', "cancelled", "cancelled"]]);
    expect(ran("node")).toEqual([["Run ./.github/actions/spin", "cancelled", "cancelled"]]);
    expect(ran("composite")).toEqual([
      ['Run touch "$DIR/composite"', "cancelled", "cancelled"],
      ["Run ./.github/actions/composite", "cancelled", "cancelled"],
    ]);

    // Only the leg that failed has an error, in the event log and in annotations.json.
    const errors = events
      .filter((e) => e.type === "annotation" && e.annotation?.level === "error")
      .map((e) => [e.job, e.annotation?.message]);
    expect(errors).toEqual([[leg("breaks"), "Process completed with exit code 1."]]);
    expect(JSON.parse(readFileSync(join(runDir, "annotations.json"), "utf8"))).toEqual([
      { job: leg("breaks"), level: "error", message: "Process completed with exit code 1." },
    ]);
  });
});
