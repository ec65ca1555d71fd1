import type Docker from "dockerode";
import { ContainerError } from "../../common/errors.js";
import type { ContainerSpec } from "./container-spec.js";
import { type HealthCheck, healthCheckOf } from "./create-options.js";
import { execInContainer } from "./exec-in-container.js";
import { lastLogs } from "./start-container.js";

/** What `job.services.<id>` shows: the container, its network, and host ports by container port. */
export interface ServiceContext {
  readonly id: string;
  readonly network: string;
  readonly ports: Readonly<Record<string, string>>;
}

/** The host ports a started container's ports were published on, keyed by container port. */
export function publishedPorts(info: Docker.ContainerInspectInfo): Record<string, string> {
  const ports: Record<string, string> = {};
  for (const [key, bindings] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
    const hostPort = bindings?.[0]?.HostPort;
    if (hostPort) ports[key.replace(/\/tcp$/, "")] = hostPort;
  }
  return ports;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/**
 * Waits until a started service is healthy, with Docker's semantics for `--health-*`
 * (or the image's HEALTHCHECK): the command runs in the container every interval, a run
 * longer than the timeout fails, and `retries` consecutive failures after the start period
 * make it unhealthy. Trunkline runs the check itself (`docker exec`), so it works the same
 * on engines that run health checks only under systemd (Podman). The first check runs at
 * once rather than after one interval: the job starts as soon as the service is ready.
 * Rejects with a {@link ContainerError} quoting the service's last logs when the service
 * becomes unhealthy or stops. A service without a health check is ready once running.
 */
export async function waitHealthy(
  docker: Docker,
  serviceId: string,
  info: Docker.ContainerInspectInfo,
  spec: ContainerSpec,
  image: Docker.ImageInspectInfo,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const check = healthCheckOf(
    spec.options,
    image.Config?.Healthcheck as Parameters<typeof healthCheckOf>[1],
  );
  if (!check) return;
  const started = Date.now();
  let failures = 0;
  let last = "";
  for (;;) {
    if (signal.aborted) return;
    const probe = await runProbe(docker, info.Id, check, signal);
    if (signal.aborted) return;
    if (probe.ok) {
      log(`${serviceId} service is healthy.`);
      return;
    }
    last = probe.output;
    const state = await docker.getContainer(info.Id).inspect();
    if (!state.State.Running)
      await fail(
        docker,
        serviceId,
        info.Id,
        `${state.State.Status} (exit code ${state.State.ExitCode})`,
        last,
      );
    if (Date.now() - started >= check.startPeriodMs) failures++;
    if (failures >= Math.max(1, check.retries))
      await fail(docker, serviceId, info.Id, "unhealthy", last);
    log(
      `${serviceId} service is starting, checking again in ${Math.round(check.intervalMs / 1000)} s.`,
    );
    await sleep(check.intervalMs, signal);
  }
}

async function runProbe(
  docker: Docker,
  id: string,
  check: HealthCheck,
  signal: AbortSignal,
): Promise<{ ok: boolean; output: string }> {
  let output = "";
  const collect = (chunk: string) => {
    output = (output + chunk).slice(-2000);
  };
  try {
    const timeout = AbortSignal.timeout(check.timeoutMs);
    const result = await execInContainer(
      docker,
      id,
      { argv: check.command, env: {}, cwd: "/" },
      { stdout: collect, stderr: collect },
      AbortSignal.any([signal, timeout]),
      1000,
    );
    if (timeout.aborted)
      return { ok: false, output: `health check timed out after ${check.timeoutMs} ms` };
    return { ok: result.exitCode === 0, output: output.trim() };
  } catch (err) {
    return { ok: false, output: (err as Error).message };
  }
}

async function fail(
  docker: Docker,
  serviceId: string,
  id: string,
  status: string,
  lastProbe: string,
): Promise<never> {
  const logs = await lastLogs(docker, id);
  throw new ContainerError(
    `Failed to initialize, ${serviceId} service is ${status}.` +
      (lastProbe ? `\nLast health check output:\n${lastProbe}` : "") +
      `\nLast logs of ${serviceId}:\n${logs || "(none)"}`,
  );
}
