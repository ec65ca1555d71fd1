import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";

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
 *
 * Either way the directories beside the job's own (the runner's other jobs') are covered too:
 * a job cannot read another's files, nor plant links there for the runner to follow.
 */
export interface NamespaceHolder {
  /** The pid (on this machine) whose namespaces the job's processes join. */
  readonly pid: number;
  /** The argv that runs `argv` in the namespaces, in `cwd`. */
  wrap(argv: readonly string[], cwd: string): string[];
  /** Ends every process of the job, at once. Synchronous; safe to call twice. */
  stop(): void;
}

/**
 * The script that covers directories in a new mount namespace, then runs `next`: its
 * arguments are the job's own directory (kept visible, though its parent is covered: the
 * directories of other jobs are) and the directories to cover (those that do not exist are
 * skipped). The job's directory is reached through a descriptor opened before its parent is
 * covered, and bound back in its place.
 */
function hideScript(next: string): string {
  return [
    'own="$1"; shift',
    'exec 3< "$own" || exit 1',
    'for d in "$@"; do',
    '  [ -d "$d" ] || continue',
    '  mount -t tmpfs -o size=64k,mode=0755 trunkline-hidden "$d" || exit 1',
    "done",
    'if [ ! -d "$own/." ] || [ "$(stat -L -c %i "$own")" != "$(stat -L -c %i /proc/self/fd/3)" ]; then',
    '  mkdir -p "$own" && mount --no-canonicalize --bind /proc/self/fd/3 "$own" || exit 1',
    "fi",
    "exec 3<&-",
    next,
  ].join("\n");
}

/**
 * The first process of a job's PID namespace: says it is ready, then waits for ever, reaping
 * the processes a step left behind that end (the parent of every orphan in the namespace).
 */
const FIRST = "echo ready; while :; do sleep 3600 & wait; done";

/**
 * The argv of a job's holder (see {@link NamespaceHolder}): `own` is the job's directory,
 * `hide` what it must not see; `first` is what the job's first process runs.
 */
function holderArgv(root: boolean, own: string, hide: readonly string[], first: string): string[] {
  if (root) {
    return [
      "unshare",
      "--pid",
      "--fork",
      "--kill-child",
      "--mount",
      "--mount-proc",
      "--",
      "sh",
      "-c",
      hideScript(first),
      "sh",
      own,
      ...hide,
    ];
  }
  const inner = `exec unshare --user --map-root-user --mount --pid --fork --kill-child --mount-proc -- sh -c '${first}'`;
  return [
    "unshare",
    "--user",
    "--map-root-user",
    "--mount",
    "--",
    "sh",
    "-c",
    hideScript(inner),
    "sh",
    own,
    ...hide,
  ];
}

/**
 * Whether this machine lets this (unprivileged) user make the namespaces a holder needs,
 * hiding `hide` (directories that do not exist are skipped).
 */
export function namespacesWork(hide: readonly string[]): boolean {
  const [command, ...args] = holderArgv(false, "/", hide, "true");
  const result = spawnSync(command as string, args, { stdio: "ignore", timeout: 10_000 });
  return result.status === 0;
}

/**
 * Starts a job's namespaces: with `user`, a root runner's, entered as that user; else an
 * unprivileged runner's. `hide` is covered, `own` (the job's directory) stays visible. `env`
 * is the holder's environment, which the job may read (/proc/1/environ): give it the job's
 * base environment, nothing of the runner's.
 */
export async function startHolder(options: HolderOptions): Promise<NamespaceHolder> {
  const { env, user } = options;
  // The holder dies with the runner (SIGKILLed too), and with it every process of the job.
  const [command, ...args] = [
    "setpriv",
    "--pdeathsig",
    "KILL",
    "--",
    ...holderArgv(user !== undefined, options.own, options.hide, FIRST),
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

/** What a job's namespaces are made with (see {@link startHolder}). */
export interface HolderOptions {
  readonly own: string;
  readonly hide: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly user?: { readonly uid: number; readonly gid: number };
}

/**
 * Namespaces made ahead, while a reused job directory waits for its next job, by directory:
 * the options they were made with, and which directory (its inode and birth time: one
 * removed and made again is another) they hold bound in.
 */
const spares = new Map<string, { key: string; dir: string; holder: Promise<NamespaceHolder> }>();

function keyOf(options: HolderOptions): string {
  return JSON.stringify([options.hide, options.env, options.user ?? null]);
}

function dirOf(path: string): string {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.birthtimeMs}`;
  } catch {
    return "";
  }
}

/**
 * Starts, in the background, the namespaces the next job in `options.own` takes with
 * {@link takeHolder}, so a job does not wait for them to be made (about 10 ms a job).
 */
export function prepareSpare(options: HolderOptions): void {
  dropSpare(options.own);
  const holder = startHolder(options);
  holder.catch(() => undefined); // taken as missing, and made again, by takeHolder
  spares.set(options.own, { key: keyOf(options), dir: dirOf(options.own), holder });
}

/**
 * A job's namespaces: those made ahead for its directory, when made with the same options
 * for the same directory and still alive; else new ones ({@link startHolder}).
 */
export async function takeHolder(options: HolderOptions): Promise<NamespaceHolder> {
  const spare = spares.get(options.own);
  spares.delete(options.own);
  if (spare) {
    const holder = await spare.holder.catch(() => undefined);
    if (
      holder &&
      spare.key === keyOf(options) &&
      spare.dir === dirOf(options.own) &&
      alive(holder.pid)
    )
      return holder;
    holder?.stop();
  }
  return startHolder(options);
}

/** The namespaces made ahead for `own`, if any (for a look from outside: tests). */
export function spareHolder(own: string): Promise<NamespaceHolder> | undefined {
  return spares.get(own)?.holder;
}

/** Ends the namespaces made ahead for `own`, or for every directory. */
export function dropSpare(own?: string): void {
  for (const [dir, spare] of spares) {
    if (own !== undefined && dir !== own) continue;
    spares.delete(dir);
    void spare.holder.then(
      (holder) => holder.stop(),
      () => undefined,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
