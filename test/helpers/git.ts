import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** Runs git in `cwd` as a test user, never asking for credentials. */
export function git(cwd: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec(
    "git",
    [
      "-c",
      "user.email=dev@example.com",
      "-c",
      "user.name=dev",
      "-c",
      "credential.helper=",
      ...args,
    ],
    {
      cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
    },
  );
}

/** A fresh repository on branch main holding `files`, committed: its folder and the commit. */
export async function committed(
  files: Record<string, string>,
  message = "commit",
): Promise<{ dir: string; sha: string }> {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-work-"));
  await git(dir, "init", "-q", "-b", "main");
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", message);
  return { dir, sha: (await git(dir, "rev-parse", "HEAD")).stdout.trim() };
}
