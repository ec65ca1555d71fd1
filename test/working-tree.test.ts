import { rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";
import { tempRepo } from "./helpers/temp-repo.js";

// One source for a local run: the workflows and the job's files both come from the working
// tree with its uncommitted changes (act's behaviour), or both from `--commit REF`.

const WORKFLOW = (which: string) => `on: push
env: { WHICH: ${which} }
jobs:
  plain:
    runs-on: ubuntu-latest
    steps:
      - run: echo "workflow $WHICH a=$(cat a.txt) new=$(cat new.txt 2>/dev/null || echo -) gone=$(cat gone.txt 2>/dev/null || echo -) ignored=$(cat ignored.txt 2>/dev/null || echo -)"
  checkout:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "checkout a=$(cat a.txt) head=$(git rev-parse HEAD) changes=$(git status --porcelain -- a.txt new.txt gone.txt | tr '\\n' ' ')"
`;

const repo = tempRepo(
  {
    ".github/workflows/ci.yml": WORKFLOW("committed"),
    "a.txt": "one\n",
    "gone.txt": "here\n",
    ".gitignore": "ignored.txt\n",
  },
  { git: true },
);
afterAll(() => repo.cleanup());
const head = repo.git("rev-parse", "HEAD");

async function run(...args: string[]): Promise<{ code: number; lines: string[]; stderr: string }> {
  const result = await runCli(["--cwd", repo.dir, "run", "--json", ...args]);
  const lines = result.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => (JSON.parse(l) as { text?: string }).text ?? "")
    .filter((t) => /^(workflow|checkout) /.test(t));
  return { code: result.code, lines: lines.sort(), stderr: result.stderr };
}

describe("a local run's source", () => {
  test("a clean tree runs its commit, and says nothing of it", async () => {
    const clean = await run();
    expect(clean.code).toBe(0);
    expect(clean.stderr).not.toContain("running the working tree");
    expect(clean.lines).toEqual([
      `checkout a=one head=${head} changes=`,
      "workflow committed a=one new=- gone=here ignored=-",
    ]);
  });

  test("by default the working tree runs, uncommitted changes and all; --commit runs the commit alone", async () => {
    writeFileSync(join(repo.dir, "a.txt"), "two\n");
    writeFileSync(join(repo.dir, "new.txt"), "fresh\n");
    writeFileSync(join(repo.dir, "ignored.txt"), "private\n");
    unlinkSync(join(repo.dir, "gone.txt"));
    writeFileSync(join(repo.dir, ".github/workflows/ci.yml"), WORKFLOW("working"));
    try {
      const working = await run();
      expect(working.code).toBe(0);
      expect(working.stderr).toContain(
        `running the working tree: 4 path(s) differ from ${head.slice(0, 12)} (uncommitted changes included; --commit HEAD runs the commit alone)`,
      );
      // github.sha stays HEAD; checkout gives the changes as uncommitted changes.
      expect(working.lines).toEqual([
        `checkout a=two head=${head} changes= M a.txt  D gone.txt ?? new.txt `,
        "workflow working a=two new=fresh gone=- ignored=-",
      ]);
      // Nothing of the user's repository moved.
      expect(repo.git("rev-parse", "HEAD")).toBe(head);
      expect(repo.git("status", "--porcelain")).toBe(
        // (the helper trims git's output: the first line's leading space goes)
        ["M .github/workflows/ci.yml", " M a.txt", " D gone.txt", "?? new.txt"].join("\n"),
      );

      const committed = await run("--commit", "HEAD");
      expect(committed.code).toBe(0);
      expect(committed.stderr).not.toContain("running the working tree");
      expect(committed.lines).toEqual([
        `checkout a=one head=${head} changes=`,
        "workflow committed a=one new=- gone=here ignored=-",
      ]);
      const unknown = await runCli(["--cwd", repo.dir, "run", "--commit", "nope"]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain(`--commit nope: no such commit in ${repo.dir}`);
    } finally {
      repo.git("checkout", "--", ".");
      rmSync(join(repo.dir, "new.txt"), { force: true });
    }
  });
});
