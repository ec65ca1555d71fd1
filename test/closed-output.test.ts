import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { tempRepo } from "./helpers/temp-repo.js";

const BIN = join(import.meta.dirname, "..", "dist", "trunkline.js");
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

// Forty workflows of 256 matrix jobs: a plan (600 kB) far larger than what a pipe and its reader hold.
const MATRIX = `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
        b: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
    steps:
      - run: echo hi
`;

/** The CLI's first line of output, its standard error and its exit code, its reader closing after that line. */
async function firstLineOnly(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
  });
  // Read up to the first line, then close the pipe, as `head -1` does.
  let first = "";
  child.stdout.setEncoding("utf8");
  for await (const chunk of child.stdout) {
    first += chunk as string;
    if (first.includes("\n")) break; // ends the iteration and destroys the stream
  }
  const [code] = (await once(child, "close")) as [number | null];
  return { first: first.split("\n")[0], stderr, code };
}

/** Processes whose command line contains `marker`. */
function processesWith(marker: string): string[] {
  try {
    return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" }).trim().split("\n");
  } catch {
    return [];
  }
}

describe("a reader that closes the output early (| head -1)", () => {
  test("ends the CLI quietly with SIGPIPE's status, no stack trace", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`.github/workflows/w${i}.yml`] = MATRIX;
    const repo = tempRepo(files, { git: true });
    cleanups.push(repo.cleanup);
    const { first, stderr, code } = await firstLineOnly(["plan", "-C", repo.dir]);
    expect(first).toMatch(/^push refs\/heads\/main @ [0-9a-f]{12}$/);
    expect(stderr).toBe("");
    expect(code).toBe(141);
  });

  test("a local run ends with its steps' processes", async () => {
    const marker = `${Math.floor(Math.random() * 1e6) + 1000}.7`;
    const workflow = `on: push
jobs:
  long:
    runs-on: ubuntu-latest
    steps:
      - run: |
          seq 1 200000
          sleep ${marker}
`;
    const repo = tempRepo({ ".github/workflows/long.yml": workflow }, { git: true });
    cleanups.push(repo.cleanup);
    const { first, stderr, code } = await firstLineOnly(["run", "-C", repo.dir]);
    expect(first).toBe("[long] ▶ Run seq 1 200000");
    expect(stderr).toBe("");
    expect(code).toBe(141);
    expect(processesWith(`sleep ${marker}`)).toEqual([]);
  });
});
