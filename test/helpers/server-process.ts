import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The built executable, as users run it. */
export const BIN = join(import.meta.dirname, "..", "..", "dist", "trunkline.js");

/** A `trunkline serve` process started by a test. */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  /** The first admin token, from the data directory. */
  readonly token: string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** The git URL of a repository, with the admin token as its password. */
  gitUrl(repository: string): string;
  /** Signals it and resolves to its exit code (null when a signal ended it). */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/** Starts `trunkline serve --port 0` on a data directory (and a Postgres URL, if given). */
export async function startServerProcess(options: {
  dataDir: string;
  database?: string;
  env?: Record<string, string>;
  extraArgs?: string[];
  /** Runs it as this user (the test runs as root). */
  as?: { uid: number; gid: number };
}): Promise<ServerProcess> {
  const args = [
    BIN,
    "serve",
    "--port",
    "0",
    "--data-dir",
    options.dataDir,
    ...(options.extraArgs ?? []),
  ];
  if (options.database) args.push("--database", options.database);
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
    ...(options.as ?? {}),
  });
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  child.stdout?.resume(); // request logs (JSON lines) are not needed
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /serving on (http:\/\/\S+)/.exec(stderr);
      if (m?.[1]) {
        clearInterval(timer);
        resolve(m[1]);
      }
    }, 20);
    void exited.then(() => {
      clearInterval(timer);
      reject(new Error(`serve exited before listening: ${stderr}`));
    });
  });
  const token = readFileSync(join(options.dataDir, "admin-token"), "utf8").trim();
  return {
    child,
    base,
    token,
    stderr: () => stderr,
    gitUrl: (repository) => `${base.replace("://", `://x:${token}@`)}/git/${repository}.git`,
    stop: async (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}
