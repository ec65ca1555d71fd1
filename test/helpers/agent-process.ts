import { type ChildProcess, spawn } from "node:child_process";
import { BIN, type ServerProcess } from "./server-process.js";

/** A `trunkline agent` process started by a test. */
export type AgentProcess = ChildProcess & { stderr: NonNullable<ChildProcess["stderr"]> };

/**
 * Starts `trunkline agent` against a server process with its admin token (which registers
 * the agent); resolves once the agent says it is waiting for jobs.
 */
export async function startAgent(
  server: Pick<ServerProcess, "base" | "token">,
  labels: string,
  workDir: string,
  options: {
    env?: Record<string, string>;
    /** Runs it as this user (the test runs as root). */
    as?: { uid: number; gid: number };
    extraArgs?: string[];
  } = {},
): Promise<AgentProcess> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      "agent",
      "--server",
      server.base,
      "--token",
      server.token,
      "--labels",
      labels,
      "--work-dir",
      workDir,
      ...(options.extraArgs ?? []),
    ],
    {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...options.env },
      ...(options.as ?? {}),
    },
  );
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (stderr.includes("waiting for jobs")) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
    child.on("exit", () => {
      clearInterval(timer);
      reject(new Error(`agent exited: ${stderr}`));
    });
  });
  return child as AgentProcess;
}
