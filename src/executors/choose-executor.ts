import { EngineUnavailableError } from "../common/errors.js";
import type { JobSpec } from "../compiler/job-spec.js";
import type { ContainerExecutorOptions } from "./container/container-executor.js";
import { findEngine } from "./container/engine.js";
import type { Executor } from "./executor.js";
import { HostExecutor } from "./host/host-executor.js";

/** What {@link chooseExecutor} needs besides the job. */
export interface ChooseExecutorOptions
  extends Omit<ContainerExecutorOptions, "job" | "container" | "services" | "engine"> {
  /**
   * Whether a `uses:` value names a Docker action (`runs.using: docker`), resolving it as the
   * runner will. `docker://` references are recognised without it.
   */
  readonly isDockerAction?: (uses: string) => Promise<boolean>;
  /** Where to look for an engine (`DOCKER_HOST`, `XDG_RUNTIME_DIR`). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Why a job needs a container engine, in words, or undefined when it does not: a job
 * container, services, or Docker actions among its steps.
 */
export async function containerNeeds(
  spec: Pick<JobSpec, "container" | "services" | "steps">,
  isDockerAction?: (uses: string) => Promise<boolean>,
): Promise<string | undefined> {
  const wants: string[] = [];
  if (spec.container !== undefined) wants.push("a job container (container:)");
  const services = Object.keys(spec.services ?? {});
  if (services.length > 0) wants.push(`services (${services.join(", ")})`);
  const docker: string[] = [];
  for (const step of spec.steps) {
    const uses = step.uses?.trim();
    if (!uses) continue;
    if (uses.startsWith("docker://") || (await isDockerAction?.(uses).catch(() => false)))
      docker.push(uses);
  }
  if (docker.length > 0) wants.push(`Docker actions (${docker.join(", ")})`);
  return wants.length > 0 ? wants.join(" and ") : undefined;
}

/**
 * The executor for one job: the host executor for plain jobs (the default, and the
 * cheapest), the container executor for jobs with `container:`, `services:` or Docker
 * actions. Rejects with an {@link EngineUnavailableError} at once when such a job finds no
 * engine, saying what the job needs, where Trunkline looked and how to configure one.
 * Used by `trunkline run` and the server's in-process runner alike.
 */
export async function chooseExecutor(
  spec: JobSpec,
  options: ChooseExecutorOptions,
): Promise<Executor> {
  const needs = await containerNeeds(spec, options.isDockerAction);
  const { isDockerAction: _, env, ...rest } = options;
  if (!needs) {
    return new HostExecutor({
      root: rest.root,
      ...(rest.toolCache ? { toolCache: rest.toolCache } : {}),
      ...(rest.graceMs !== undefined ? { graceMs: rest.graceMs } : {}),
      ...(rest.keep !== undefined ? { keep: rest.keep } : {}),
      ...(rest.reuse !== undefined ? { reuse: rest.reuse } : {}),
      ...(rest.sandbox ? { sandbox: rest.sandbox } : {}),
    });
  }
  let engine: Awaited<ReturnType<typeof findEngine>>;
  try {
    engine = await findEngine(env);
  } catch (err) {
    throw new EngineUnavailableError(`this job needs ${needs}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // Loaded only for jobs that need it: a plain job's start does not pay for its code.
  const { ContainerExecutor } = await import("./container/container-executor.js");
  return new ContainerExecutor({
    ...rest,
    job: spec.key,
    engine,
    ...(spec.container !== undefined ? { container: spec.container } : {}),
    ...(spec.services ? { services: spec.services } : {}),
  });
}
