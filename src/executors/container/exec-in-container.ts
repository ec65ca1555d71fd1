import { StringDecoder } from "node:string_decoder";
import type Docker from "dockerode";
import type { ExecOutput, ExecResult } from "../executor.js";

/** One process to run in a running container, with paths already translated. */
export interface ContainerExecRequest {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly user?: string;
}

/** How often a process that may have left its output open is checked for having exited. */
const POLL_MS = 250;

/**
 * Runs one process in a running container (`docker exec`) and resolves when it exits: its
 * own exit, as on the host, even if background processes it started keep its output open.
 * The engine starts each exec as the leader of its own session and process group and reports
 * its host pid; aborting `signal` sends SIGTERM to that group, SIGKILL after `graceMs`, so
 * the whole tree ends while the container (and later steps) go on. That needs the engine on
 * this machine (the pid must be ours to signal); with a remote engine the tree is ended when
 * the job's container is removed.
 */
export async function execInContainer(
  docker: Docker,
  containerId: string,
  request: ContainerExecRequest,
  output: ExecOutput,
  signal: AbortSignal,
  graceMs: number,
): Promise<ExecResult> {
  if (signal.aborted) return { exitCode: null, signal: null, aborted: true };
  const exec = await docker.getContainer(containerId).exec({
    Cmd: [...request.argv],
    Env: Object.entries(request.env).map(([k, v]) => `${k}=${v}`),
    WorkingDir: request.cwd,
    AttachStdout: true,
    AttachStderr: true,
    ...(request.user ? { User: request.user } : {}),
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  let pid = 0;
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  /** The last signal the process group took; an abort's signal is sent until it does. */
  let delivered: NodeJS.Signals | undefined;
  const signalGroup = (sig: NodeJS.Signals) => {
    if (pid <= 0) return;
    try {
      process.kill(-pid, sig);
      delivered = sig;
    } catch {
      // Gone already, not ours to signal (a remote engine), or not a group yet (a busy
      // engine reports the pid before the process has made its session).
    }
  };
  let killed = false;
  const onAbort = () => {
    aborted = true;
    signalGroup("SIGTERM");
    killTimer = setTimeout(() => {
      killed = true;
      signalGroup("SIGKILL");
    }, graceMs);
    killTimer.unref();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  const out = new StringDecoder("utf8");
  const err = new StringDecoder("utf8");
  docker.modem.demuxStream(
    stream,
    { write: (b: Buffer) => output.stdout(out.write(b)) } as unknown as NodeJS.WritableStream,
    { write: (b: Buffer) => output.stderr(err.write(b)) } as unknown as NodeJS.WritableStream,
  );
  try {
    pid = (await exec.inspect()).Pid ?? 0;
    // An abort that came before the pid was known signalled nobody: signal now.
    if (signal.aborted && !aborted) onAbort();
    else if (aborted) signalGroup("SIGTERM");
    await new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearInterval(poll);
        resolve();
      };
      stream.on("end", finish);
      stream.on("close", finish);
      stream.on("error", finish);
      // A background process may hold the output open after the process itself exited. A
      // busy engine may also report the exec before its process started (pid 0), or before
      // it made its process group: an abort's signal is sent again here until the group
      // takes it, instead of the step running on after its timeout or cancel.
      const poll = setInterval(() => {
        exec.inspect().then(
          (i) => {
            // The pid the engine reports may change while the exec starts (the runtime's
            // helper first, then the process itself): the latest is the one to signal.
            const latest = i.Pid ?? 0;
            if (latest > 0 && latest !== pid) {
              pid = latest;
              delivered = undefined;
            }
            const wanted = killed ? "SIGKILL" : "SIGTERM";
            if (aborted && i.Running && delivered !== wanted) signalGroup(wanted);
            if (!i.Running) setTimeout(finish, 100);
          },
          () => finish(),
        );
      }, POLL_MS);
    });
    stream.destroy();
    const restOut = out.end();
    const restErr = err.end();
    if (restOut) output.stdout(restOut);
    if (restErr) output.stderr(restErr);
    if (aborted) signalGroup("SIGKILL");
    const info = await exec.inspect();
    return { exitCode: info.ExitCode ?? null, signal: null, aborted };
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
}
