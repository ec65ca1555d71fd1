import { afterAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";
import { tempRepo } from "./helpers/temp-repo.js";

// Labels nothing here can serve are known before running: plan marks those jobs, and a run
// says so in its table and among its annotations.

const repo = tempRepo(
  {
    ".github/workflows/ci.yml": [
      "on: push",
      "jobs:",
      "  train:",
      "    runs-on: [self-hosted, gpu]",
      "    steps: [{ run: echo trained }]",
      "  lint:",
      "    runs-on: ubuntu-latest",
      "    steps: [{ run: echo linted }]",
      "",
    ].join("\n"),
  },
  { git: true },
);
afterAll(() => repo.cleanup());

type Planned = { workflows: { jobs: { id: string; unservedLabels?: string[] }[] }[] };
const unserved = async (...args: string[]) => {
  const result = await runCli(["--cwd", repo.dir, "plan", "--json", ...args]);
  return Object.fromEntries(
    (JSON.parse(result.stdout) as Planned).workflows[0]?.jobs.map((j) => [
      j.id,
      j.unservedLabels,
    ]) ?? [],
  );
};

describe("labels nothing here serves", () => {
  test("plan marks the jobs; --label and -P serve them", async () => {
    expect(await unserved()).toEqual({ train: ["gpu"], lint: undefined });
    expect(await unserved("--label", "gpu")).toEqual({ train: undefined, lint: undefined });
    expect(await unserved("-P", "GPU=host")).toEqual({ train: undefined, lint: undefined });
    const text = await runCli(["--cwd", repo.dir, "plan"]);
    expect(text.stdout).toContain(
      "✗ no runner here has [gpu]: a local run fails it (--label gpu, or -P gpu=host|IMAGE)",
    );
    const bad = await runCli(["--cwd", repo.dir, "plan", "-P", "gpu"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--platform gpu: expected LABEL=host or LABEL=IMAGE");
  });

  test("a run fails such a job, saying why in its table and annotations", async () => {
    const result = await runCli(["--cwd", repo.dir, "run"]);
    expect(result.code).toBe(1);
    const lines = result.stdout.split("\n");
    const annotations = lines.slice(lines.indexOf("Annotations"));
    expect(annotations[1]).toMatch(/^ {2}error \[train\] no runner with labels \[gpu\]; /);
    expect(lines.find((l) => l.startsWith("train "))).toMatch(
      /^train {2}failure {4}\d+ms +no runner with labels \[gpu\]; /,
    );
  });
});
