import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** git's per-process configuration (`GIT_CONFIG_COUNT`): wins over config files, unseen by `ps`. */
export function gitConfigEnv(config: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  const entries = Object.entries(config);
  entries.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  env.GIT_CONFIG_COUNT = String(entries.length);
  return env;
}

/**
 * Runs git for the action store: arguments as a list (never a shell), no prompt for
 * credentials (a source that wants some fails instead of waiting for a person), and a
 * transfer that stalls for 30 s fails. Resolves to stdout, trimmed.
 */
export async function git(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<string> {
  const { stdout } = await run(
    "git",
    ["-c", "http.lowSpeedLimit=1", "-c", "http.lowSpeedTime=30", ...args],
    {
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0", GCM_INTERACTIVE: "never", ...env },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return stdout.trim();
}

/** The line of a failed git command that says why (its `fatal:` line, without the prefix). */
export function gitFailure(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const text = (e.stderr || e.message || String(err)).trim();
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  return (lines.find((l) => /^fatal:/.test(l)) ?? lines[0] ?? "failed").replace(/^fatal:\s*/, "");
}
