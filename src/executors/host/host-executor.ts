import { spawn } from "node:child_process";
import {
  accessSync,
  chmodSync,
  constants,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
} from "node:fs";
import { basename, dirname, isAbsolute, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { ExecOutput, ExecRequest, ExecResult, Executor, JobPaths } from "../executor.js";
import { blankFileSync } from "../rewrite-file.js";
import { handOverTree, type JobSandbox, sandboxEnv } from "./job-sandbox.js";
import {
  dropSpare,
  type HolderOptions,
  type NamespaceHolder,
  prepareSpare,
  takeHolder,
} from "./namespace-holder.js";

/** Options of the host executor. */
export interface HostExecutorOptions {
  /** The job's own directory; workspace, temp and runner files live under it. */
  readonly root: string;
  /** Shared tool cache. @default `<root>/tool-cache` */
  readonly toolCache?: string;
  /** Time between SIGTERM and SIGKILL when a process tree is ended. @default 5000 ms */
  readonly graceMs?: number;
  /** Keep the job's directory after the job (for debugging). @default false */
  readonly keep?: boolean;
  /**
   * The directory serves job after job (one of a runner's slots): on release its temp is
   * emptied and its runner files emptied in place instead of the whole directory removed,
   * and the workspace is left for the next job's copy of its commit to bring up to date.
   * Making files anew costs more than rewriting them (see `copyTree`). Ignored with `keep`.
   * @default false
   */
  readonly reuse?: boolean;
  /**
   * What keeps the job's processes from the runner's own files, processes and environment:
   * with a sandbox, they run in namespaces of the job's own (as its user, for a `user` one)
   * with {@link sandboxEnv}'s environment and a home of their own (`<root>/home`), emptied
   * between jobs. @default none (`trunkline run`: no cost per step)
   */
  readonly sandbox?: JobSandbox;
}

/** Executors whose jobs have not been released, for a forced exit. */
const live = new Set<HostExecutor>();

/**
 * Runs a job's processes directly on this machine. Each process leads its own process
 * group, so ending it (cancel, timeout) signals the whole tree: SIGTERM, then SIGKILL after
 * the grace period, to the group. A process that escapes its group (setsid) is beyond reach;
 * in a sandbox it still ends with the job, whose PID namespace ends with it.
 */
export class HostExecutor implements Executor {
  readonly kind = "host";
  readonly paths: JobPaths;
  private readonly graceMs: number;
  private readonly keep: boolean;
  private readonly reuse: boolean;
  private readonly root: string;
  /** Process groups this job started, ended for good by `release`. */
  private readonly groups = new Set<number>();
  private prepared = false;
  /** Whether `release` readied the directory for another job. */
  private readied = false;
  /** Programs found on `PATH`, by PATH and name. */
  private readonly found = new Map<string, string>();
  private readonly sandbox: JobSandbox;
  /** The job's own home in a sandbox; undefined without one (the runner's is used). */
  private readonly home: string | undefined;
  /** The job's namespaces, with a sandbox, once prepared. */
  private holder: NamespaceHolder | undefined;

  constructor(options: HostExecutorOptions) {
    this.root = options.root;
    this.paths = {
      workspace: join(options.root, "workspace"),
      temp: join(options.root, "temp"),
      toolCache: options.toolCache ?? join(options.root, "tool-cache"),
      files: join(options.root, "runner"),
    };
    this.graceMs = options.graceMs ?? 5000;
    this.keep = options.keep ?? false;
    this.reuse = !this.keep && (options.reuse ?? false);
    this.sandbox = options.sandbox ?? { kind: "none" };
    this.home = this.sandbox.kind === "none" ? undefined : join(options.root, "home");
  }

  async prepare(): Promise<void> {
    live.add(this);
    if (this.prepared) return;
    this.prepared = true;
    // Synchronous: a job's few small file operations cost a third as much CPU that way as
    // through the thread pool, which matters when an agent runs many short jobs.
    for (const dir of Object.values(this.paths)) mkdirSync(dir, { recursive: true });
    if (this.home) {
      mkdirSync(this.home, { recursive: true });
      chmodSync(this.root, 0o700);
      // The workspace was filled by the runner before: all of the job's directory (not a
      // tool cache shared by the runner's jobs) becomes the job user's.
      handOverTree(this.sandbox, this.root);
    }
    if (this.sandbox.kind !== "none") {
      // Beside the runner's own directories, the job sees none of the directories next to its
      // own: those of the runner's other jobs.
      this.holder = await takeHolder(this.holderOptions());
    }
  }

  /** What this job's namespaces are made with (in a sandbox). */
  private holderOptions(): HolderOptions {
    return {
      own: this.root,
      hide: [...(this.sandbox.kind === "namespaces" ? this.sandbox.hide : []), dirname(this.root)],
      env: this.baseEnv() ?? {},
      ...(this.sandbox.kind === "user" ? { user: this.sandbox } : {}),
    };
  }

  /**
   * In a sandbox, the environment processes start from (see {@link sandboxEnv}); without one,
   * undefined: the runner's `baseEnv` is used.
   */
  baseEnv(): Readonly<Record<string, string>> | undefined {
    if (this.sandbox.kind === "none" || !this.home) return undefined;
    return sandboxEnv(this.sandbox, process.env, this.home);
  }

  /**
   * The runner wrote into the job's directories itself (a built-in action: checkout, a
   * restored cache, a downloaded artifact): in a sandbox, what it wrote becomes the job
   * user's, so later steps can change it.
   */
  handOver(): void {
    if (this.prepared) handOverTree(this.sandbox, this.root);
  }

  /** In a sandbox, `argv` as the job's processes run: as its user, or in its namespaces. */
  jobProcess(argv: readonly string[], cwd: string): readonly string[] | undefined {
    return this.holder?.wrap(argv, cwd);
  }

  exec(request: ExecRequest, output: ExecOutput, signal: AbortSignal): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        resolve({ exitCode: null, signal: null, aborted: true });
        return;
      }
      const [command, ...args] = request.argv;
      if (!command) {
        reject(new Error("exec: empty argv"));
        return;
      }
      if (this.sandbox.kind !== "none" && !this.holder) {
        // Never as the runner: a sandboxed job's processes start only in its namespaces.
        reject(new Error("exec: a sandboxed job's executor was not prepared"));
        return;
      }
      if (this.sandbox.kind === "user") this.handOverFiles(this.sandbox);
      const program = this.onPath(command, request.env.PATH);
      // In the job's namespaces, the step joins them (its program keeps its full path).
      const [file, ...rest] = this.holder
        ? this.holder.wrap([program, ...args], request.cwd)
        : [program, ...args];
      const child = spawn(file as string, rest, {
        ...(this.holder ? {} : { argv0: command }),
        cwd: request.cwd,
        env: request.env,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
      let aborted = false;
      let killTimer: NodeJS.Timeout | undefined;
      const signalGroup = (sig: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // The group is already gone.
        }
      };
      const onAbort = () => {
        aborted = true;
        signalGroup("SIGTERM");
        killTimer = setTimeout(() => signalGroup("SIGKILL"), this.graceMs);
        killTimer.unref();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      const out = new StringDecoder("utf8");
      const err = new StringDecoder("utf8");
      let chunks = 0;
      child.stdout.on("data", (b: Buffer) => {
        chunks++;
        output.stdout(out.write(b));
      });
      child.stderr.on("data", (b: Buffer) => {
        chunks++;
        output.stderr(err.write(b));
      });
      child.on("error", (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      });
      if (child.pid !== undefined) this.groups.add(child.pid);
      let settled = false;
      let afterExit: NodeJS.Timeout | undefined;
      const finish = (code: number | null, sig: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(afterExit);
        signal.removeEventListener("abort", onAbort);
        const restOut = out.end();
        const restErr = err.end();
        if (restOut) output.stdout(restOut);
        if (restErr) output.stderr(restErr);
        // An ended step takes everything it started with it; a step that exited on its own
        // may leave background processes (a server for later steps) until the job ends.
        if (aborted) signalGroup("SIGKILL");
        if (killTimer) clearTimeout(killTimer);
        resolve({ exitCode: code, signal: sig, aborted });
      };
      child.on("close", (code, sig) => finish(code, sig));
      // A background process may hold the pipes open after the step's process exited: the
      // step is over when its own process is, as on GitHub. What the process wrote before it
      // exited is in the pipes already: each wait ends with a pass of the event loop's I/O
      // (setImmediate runs after it), so a loop that was starved (a busy machine) reads it
      // before the pipes are let go, and output still coming (up to a second) is read too.
      child.on("exit", (code, sig) => {
        const exitedAt = Date.now();
        let seen = chunks;
        const wait = () => {
          afterExit = setTimeout(
            () =>
              setImmediate(() => {
                if (chunks !== seen && Date.now() - exitedAt < 1000) {
                  seen = chunks;
                  wait();
                  return;
                }
                child.stdout.destroy();
                child.stderr.destroy();
                finish(code, sig);
              }).unref(),
            100,
          ).unref();
        };
        wait();
      });
    });
  }

  /**
   * Gives the job's user the runner files made since its last step (the step files a step
   * writes, its script): a few names, looked at before each step. A file of several names is
   * left alone (the job may have linked something else's here).
   */
  private handOverFiles(user: { uid: number; gid: number }): void {
    for (const name of readdirSync(this.paths.files)) {
      const path = join(this.paths.files, name);
      const info = lstatSync(path);
      if (info.uid === user.uid && info.gid === user.gid) continue;
      if (info.isDirectory() || info.nlink === 1) lchownSync(path, user.uid, user.gid);
    }
  }

  /**
   * Where a command is on `PATH`, as the spawn would find it, remembered for the job: the
   * spawn waits for its child to start the program, and a child searching `PATH` itself
   * tries (and fails) every directory before the right one, on every step. A command not
   * found is left to the spawn (and not remembered), so one a step installs is found later.
   */
  private onPath(command: string, path: string | undefined): string {
    if (command.includes("/") || !path) return command;
    const key = `${path}\0${command}`;
    const known = this.found.get(key);
    if (known) return known;
    for (const dir of path.split(":")) {
      // A relative entry is relative to the step's directory: the spawn's search decides.
      if (!isAbsolute(dir)) return command;
      const candidate = join(dir, command);
      try {
        accessSync(candidate, constants.X_OK);
        if (!statSync(candidate).isFile()) continue;
      } catch {
        continue;
      }
      this.found.set(key, candidate);
      return candidate;
    }
    return command;
  }

  /**
   * Ends every process the job started that is still alive, then removes its directory, or
   * with `reuse` readies it for the next job: no file of this job's temp, nor anything it or
   * its steps wrote to the runner files (scripts, the event, environment files), is left.
   */
  async release(): Promise<void> {
    this.killAll();
    live.delete(this);
    if (this.reuse) this.readied = this.scrub();
    else if (!this.keep) rmSync(this.root, { recursive: true, force: true });
    // The directory's next job will find its namespaces made while the slot was idle.
    if (this.readied && this.sandbox.kind !== "none") prepareSpare(this.holderOptions());
  }

  /** After `release`: whether the directory was readied for another job (see `reuse`). */
  reusable(): boolean {
    return this.readied;
  }

  /**
   * Readies the directory for another job; false when it cannot be (something the job left
   * cannot be removed, a folder made read-only for one): then it is removed as far as it
   * can be, and should not be used again.
   */
  private scrub(): boolean {
    try {
      // A job may have made its directory, or its temp or runner folder, a link elsewhere:
      // such a link is removed, never followed (emptying it would empty its target).
      if (!isRealDir(this.root)) {
        rmSync(this.root, { force: true });
        return false;
      }
      // What the job made beside its workspace, temp and runner folders goes.
      const own = new Set(
        [...Object.values(this.paths), ...(this.home ? [this.home] : [])]
          .filter((p) => dirname(p) === this.root)
          .map((p) => basename(p)),
      );
      for (const entry of readdirSync(this.root)) {
        if (!own.has(entry)) rmSync(join(this.root, entry), { recursive: true, force: true });
      }
      const entries = (dir: string) => {
        if (!isRealDir(dir)) {
          rmSync(dir, { recursive: true, force: true });
          return [];
        }
        return readdirSync(dir, { withFileTypes: true });
      };
      // A sandboxed job's home goes too: nothing a job left there (a shell profile, a git
      // config) may reach the next.
      for (const dir of [this.paths.temp, ...(this.home ? [this.home] : [])]) {
        for (const entry of entries(dir))
          rmSync(join(dir, entry.name), { recursive: true, force: true });
      }
      // Files are blanked in place (a link, a FIFO, a file of several names is removed).
      for (const entry of entries(this.paths.files)) {
        const path = join(this.paths.files, entry.name);
        if (entry.isFile()) blankFileSync(path);
        else rmSync(path, { recursive: true, force: true });
      }
      if (!isRealDir(this.paths.workspace)) {
        rmSync(this.paths.workspace, { recursive: true, force: true });
      }
      return true;
    } catch {
      try {
        rmSync(this.root, { recursive: true, force: true });
      } catch {
        // Left for the run's (or the agent's) final removal, which may fail as well.
      }
      return false;
    }
  }

  /** Ends, at once and for good, every process group this job started. Synchronous. */
  killAll(): void {
    this.holder?.stop();
    for (const pid of this.groups) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    this.groups.clear();
  }

  /** Ends every process of every job still running in this process (a forced exit). */
  static killEverything(): void {
    for (const executor of live) executor.killAll();
    dropSpare();
  }
}

// Whether `path` is a directory itself, not a link to one (false when it is missing). A
// reused directory is checked this way before it is emptied or written into.
function isRealDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}
