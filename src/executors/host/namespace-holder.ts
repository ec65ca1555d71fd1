import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * The namespaces of one sandboxed job. Each step joins them with `nsenter`, so processes a
 * step leaves behind live on for later steps; all of them end with the holder, the first
 * process of the job's PID namespace, which reaps them as they end.
 *
 * - The runner is not root (`JobSandbox` `namespaces`): two user namespaces, one inside the
 *   other; in the outer one a tmpfs is mounted over each hidden directory; the inner one (with
 *   its own mount and PID namespaces and a /proc of its own) holds those mounts locked, so the
 *   job, root in it, can neither unmount them nor see or signal a process outside.
 * - The runner is root (`JobSandbox` `user`): a PID and a mount namespace with a /proc of
 *   their own, entered as the job's user (uid, gid, no supplementary groups): jobs, which all
 *   run as that user, see neither the runner's processes nor each other's (whose environments
 *   hold their secrets).
 */
export interface NamespaceHolder {
  /** The pid (on this machine) whose namespaces the job's processes join. */
  readonly pid: number;
  /** The argv that runs `argv` in the namespaces, in `cwd`. */
  wrap(argv: readonly string[], cwd: string): string[];
  /** Ends every process of the job, at once. Synchronous; safe to call twice. */
  stop(): void;
}

/** The script run in the outer namespace: hide, then start the inner one. */
function holderScript(inner: string): string {
  return [
    'for d in "$@"; do',
    '  [ -d "$d" ] || continue',
    '  mount -t tmpfs -o size=64k,mode=0755 trunkline-hidden "$d" || exit 1',
    "done",
    `exec unshare --user --map-root-user --mount --pid --fork --kill-child --mount-proc -- ${inner}`,
  ].join("\n");
}

/**
 * The first process of a job's PID namespace: says it is ready, then waits for ever, reaping
 * the processes a step left behind that end (the parent of every orphan in the namespace).
 */
const FIRST = "echo ready; while :; do sleep 3600 & wait; done";

/** The PID namespace of a root runner's job (see {@link NamespaceHolder}). */
const ROOT_HOLDER = [
  "unshare",
  "--pid",
  "--fork",
  "--kill-child",
  "--mount",
  "--mount-proc",
  "--",
  "sh",
  "-c",
  FIRST,
];

function holderArgv(hide: readonly string[], inner: string): string[] {
  return [
    "unshare",
    "--user",
    "--map-root-user",
    "--mount",
    "--",
    "sh",
    "-c",
    holderScript(inner),
    "sh",
    ...hide,
  ];
}

/**
 * Whether this machine lets this (unprivileged) user make the namespaces a holder needs,
 * hiding `hide` (directories that do not exist are skipped).
 */
export function namespacesWork(hide: readonly string[]): boolean {
  const [command, ...args] = holderArgv(hide, "true");
  const result = spawnSync(command as string, args, { stdio: "ignore", timeout: 10_000 });
  return result.status === 0;
}

/**
 * Starts a job's namespaces: with `user`, a root runner's, entered as that user; else an
 * unprivileged runner's, with `hide` covered. `env` is the holder's environment, which the job
 * may read (/proc/1/environ): give it the job's base environment, nothing of the runner's.
 */
export async function startHolder(options: {
  readonly hide: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly user?: { readonly uid: number; readonly gid: number };
}): Promise<NamespaceHolder> {
  const { env, user } = options;
  // The holder dies with the runner (SIGKILLed too), and with it every process of the job.
  const [command, ...args] = [
    "setpriv",
    "--pdeathsig",
    "KILL",
    "--",
    ...(user ? ROOT_HOLDER : holderArgv(options.hide, `sh -c '${FIRST}'`)),
  ];
  const child = spawn(command as string, args, {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr?.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      reject(new Error(`the job's namespaces could not be made (exit ${code}): ${err.trim()}`)),
    );
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      if (!out.includes("ready")) return;
      // The inner namespaces' first process is the only child of the outer unshare.
      const first = Number(
        readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim(),
      );
      if (Number.isInteger(first) && first > 0) resolve(first);
      else reject(new Error("the job's namespaces started without a first process"));
    });
  });
  child.removeAllListeners("exit");
  // Its output is not read again; the holder lives on by itself.
  child.stdout?.destroy();
  child.stderr?.destroy();
  child.unref();
  return {
    pid,
    wrap: (argv, cwd) => [
      "nsenter",
      `--target=${pid}`,
      ...(user
        ? ["--mount", "--pid", `--setuid=${user.uid}`, `--setgid=${user.gid}`]
        : ["--user", "--mount", "--pid", "--preserve-credentials"]),
      `--wdns=${cwd}`,
      "--",
      ...argv,
    ],
    stop: () => stopHolder(child, pid),
  };
}

function stopHolder(child: ChildProcess, first: number): void {
  // The first process's end ends every process of its PID namespace.
  for (const pid of [first, child.pid]) {
    try {
      if (pid !== undefined) process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}
