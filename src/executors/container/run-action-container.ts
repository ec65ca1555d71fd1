import { randomUUID } from "node:crypto";
import { StringDecoder } from "node:string_decoder";
import type Docker from "dockerode";
import type { ExecOutput, ExecResult } from "../executor.js";
import { jobLabels } from "./labels.js";
import type { PathMap } from "./path-map.js";
import type { BindMount } from "./start-container.js";

/** A Docker action's container, with everything the executor decided. */
export interface ActionContainerRequest {
  readonly image: string;
  readonly entrypoint?: string;
  readonly args: readonly string[];
  /** Host paths in it are translated with `paths`. */
  readonly env: Readonly<Record<string, string>>;
  readonly binds: readonly BindMount[];
  readonly paths: PathMap;
  readonly network: string;
  readonly job: string;
  readonly workdir: string;
}

/**
 * Runs one container to completion (`docker run --rm`), its output streamed to `output`.
 * Aborting `signal` stops it: SIGTERM to its main process, SIGKILL after `graceMs`. The
 * container is removed whatever happens.
 */
export async function runActionContainer(
  docker: Docker,
  request: ActionContainerRequest,
  output: ExecOutput,
  signal: AbortSignal,
  graceMs: number,
): Promise<ExecResult> {
  if (signal.aborted) return { exitCode: null, signal: null, aborted: true };
  const env = request.paths.envToContainer(request.env);
  const container = await docker.createContainer({
    name: `trunkline_action_${randomUUID().replace(/-/g, "").slice(0, 12)}`,
    Image: request.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: jobLabels(request.job),
    WorkingDir: request.workdir,
    ...(request.entrypoint ? { Entrypoint: [request.entrypoint] } : {}),
    ...(request.args.length > 0 || request.entrypoint ? { Cmd: [...request.args] } : {}),
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      NetworkMode: request.network,
      Binds: request.binds.map((b) => `${b.host}:${b.container}${b.readOnly ? ":ro" : ""}`),
    },
  });
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    aborted = true;
    container.kill({ signal: "SIGTERM" }).catch(() => undefined);
    killTimer = setTimeout(
      () => container.kill({ signal: "SIGKILL" }).catch(() => undefined),
      graceMs,
    );
    killTimer.unref();
  };
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const out = new StringDecoder("utf8");
    const err = new StringDecoder("utf8");
    const ended = new Promise<void>((resolve) => {
      stream.on("end", resolve);
      stream.on("close", resolve);
      stream.on("error", () => resolve());
    });
    docker.modem.demuxStream(
      stream,
      { write: (b: Buffer) => output.stdout(out.write(b)) } as unknown as NodeJS.WritableStream,
      { write: (b: Buffer) => output.stderr(err.write(b)) } as unknown as NodeJS.WritableStream,
    );
    signal.addEventListener("abort", onAbort, { once: true });
    await container.start();
    // An abort before the start had nothing to stop yet.
    if (signal.aborted && !aborted) onAbort();
    // The engine's wait can lag the exit by most of a second (Podman polls); the end of the
    // output stream, then the container's state, usually says it first. Whichever is first.
    const exitCode = await new Promise<number>((resolve, reject) => {
      container.wait().then((r: { StatusCode: number }) => resolve(r.StatusCode), reject);
      void ended.then(async () => {
        for (;;) {
          const info = await container.inspect().catch(() => undefined);
          if (!info) return;
          if (!info.State.Running) return resolve(info.State.ExitCode);
          await new Promise((r) => setTimeout(r, 50));
        }
      });
    });
    // The output may trail the exit by a moment; do not wait on it for long.
    await Promise.race([ended, new Promise((r) => setTimeout(r, 500))]);
    const restOut = out.end();
    const restErr = err.end();
    if (restOut) output.stdout(restOut);
    if (restErr) output.stderr(restErr);
    return { exitCode, signal: null, aborted };
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (killTimer) clearTimeout(killTimer);
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }
}
