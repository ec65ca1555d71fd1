import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test, vi } from "vitest";
import { tempRepo } from "./helpers/temp-repo.js";

const BIN = join(import.meta.dirname, "..", "dist", "trunkline.js");
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

/** Whether any process's command line contains `marker`. */
function processesWith(marker: string): string[] {
  try {
    return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}

describe("cancelling a run", () => {
  test.each(["SIGINT", "SIGTERM"] as const)(
    "%s ends the process tree, runs always() steps, and exits 130",
    async (signal) => {
      const marker = `${Math.floor(Math.random() * 1e6) + 1000}.${signal.length}`;
      const workflow = `
on: push
jobs:
  long:
    runs-on: ubuntu-latest
    steps:
      - run: |
          (sleep ${marker}; echo orphan) &
          echo started
          sleep ${marker}
      - run: touch never-reached
      - if: always()
        run: echo "cleanup ran" && test "\${{ job.status }}" = cancelled && touch "$ALWAYS_MARKER"
  waiting:
    needs: long
    runs-on: ubuntu-latest
    steps:
      - run: echo "should not start"
`;
      const repo = tempRepo({ ".github/workflows/w.yml": workflow }, { git: true });
      cleanups.push(repo.cleanup);
      const always = join(repo.dir, "always-ran");
      const child = spawn(
        process.execPath,
        [BIN, "run", "-C", repo.dir, "--run-dir", join(repo.dir, ".run")],
        {
          env: { ...process.env, NO_COLOR: "1", ALWAYS_MARKER: always },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let output = "";
      child.stdout.on("data", (b: Buffer) => {
        output += b.toString();
      });
      child.stderr.on("data", (b: Buffer) => {
        output += b.toString();
      });
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (output.includes("started")) {
            clearInterval(check);
            resolve();
          }
        }, 20);
      });
      // "started" is printed before the sleeps are exec'd: wait until they exist, so the check
      // for orphans below proves something.
      await vi.waitFor(() => expect(processesWith(`sleep ${marker}`).length).toBe(2), {
        timeout: 10_000,
        interval: 20,
      });
      child.kill(signal);
      const code = await new Promise<number | null>((resolve) =>
        child.on("exit", (c) => resolve(c)),
      );
      expect(code, output).toBe(130);
      expect(output).toContain("cleanup ran");
      expect(output).not.toContain("should not start");
      expect(existsSync(always)).toBe(true);
      expect(existsSync(join(repo.dir, "never-reached"))).toBe(false);
      expect(processesWith(`sleep ${marker}`), "no orphan process is left").toEqual([]);
    },
  );
});
