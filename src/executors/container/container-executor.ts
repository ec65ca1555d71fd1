import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type Docker from "dockerode";
import { ContainerError } from "../../common/errors.js";
import type {
  DockerActionRequest,
  DockerActionRunner,
  ExecOutput,
  ExecRequest,
  ExecResult,
  Executor,
  JobPaths,
} from "../executor.js";
import { HostExecutor } from "../host/host-executor.js";
import type { JobSandbox } from "../host/job-sandbox.js";
import {
  actionContainerLayout,
  type ContainerLayout,
  IN_JOB_CONTAINER,
  jobContainerLayout,
} from "./container-layout.js";
import { type ContainerSpec, readContainerSpec } from "./container-spec.js";
import { type ContainerEngine, findEngine } from "./engine.js";
import { execInContainer } from "./exec-in-container.js";
import { HostForwards } from "./host-forwards.js";
import { buildImage, ensureImage } from "./images.js";
import { jobLabels } from "./labels.js";
import { runActionContainer } from "./run-action-container.js";
import { publishedPorts, type ServiceContext, waitHealthy } from "./services.js";
import { removeStaleResources } from "./stale-resources.js";
import { type BindMount, lastLogs, startContainer } from "./start-container.js";

/** Options of the container executor. */
export interface ContainerExecutorOptions {
  /** The job's own directory on this machine; workspace, temp and runner files live under it. */
  readonly root: string;
  /** The job's key, for labels and messages. */
  readonly job: string;
  /** `container:` as the JobSpec has it (evaluated); absent: steps run on the host. */
  readonly container?: unknown;
  /** `services:` as the JobSpec has them (evaluated), by service id. */
  readonly services?: Readonly<Record<string, unknown>>;
  /** `owner/name`: the workspace is `/__w/<name>/<name>` in a job container, as on GitHub. */
  readonly repository?: string;
  /** Shared tool cache, mounted at /__t. @default `<root>/tool-cache` */
  readonly toolCache?: string;
  /** More host directories a job container sees (resolved actions at /__w/_actions). */
  readonly mounts?: readonly BindMount[];
  /** Time between SIGTERM and SIGKILL when a process tree is ended. @default 5000 ms */
  readonly graceMs?: number;
  /** Keep the job's directory after the job. @default false */
  readonly keep?: boolean;
  /** The directory serves job after job: see the host executor's `reuse`. @default false */
  readonly reuse?: boolean;
  /**
   * The sandbox of steps that run on the host (a job with services but no job container):
   * see the host executor's `sandbox`. @default none
   */
  readonly sandbox?: JobSandbox;
  /** The engine to use. @default the one {@link findEngine} finds */
  readonly engine?: ContainerEngine;
  /**
   * Origins of services on this machine that the job's processes are given (the runtime
   * services, the server): a job container or Docker action reaches each one that listens on
   * loopback through a forward on the job network's gateway, and env values naming it are
   * rewritten to the forward. Needs an engine on this machine whose networks' gateway is a
   * host address (Docker, rootful Podman).
   */
  readonly hostServices?: readonly string[];
  /** Set-up progress (pulls, service health), one line at a time. */
  readonly log?: (line: string) => void;
}

/** Engines already swept for stale resources in this process. */
const swept = new WeakMap<object, Promise<void>>();

/**
 * Runs a job with containers through the Docker Engine API (Docker or Podman): a per-job
 * network; the job's services on it (reachable by their id from containers, and on the
 * host's loopback at their published ports); with `container:`, a job container that every
 * step runs in (`docker exec`), the workspace mounted where GitHub mounts it; and Docker
 * actions as sibling containers. Without `container:` steps run on the host. `release`
 * removes every container, the network, volumes the job created and images it built, even
 * when `prepare` failed half-way.
 */
export class ContainerExecutor implements Executor {
  readonly kind = "container";
  readonly paths: JobPaths;
  readonly dockerActions: DockerActionRunner;
  private readonly host: HostExecutor;
  private readonly graceMs: number;
  private engine: ContainerEngine | undefined;
  private network: string | undefined;
  private jobContainer: { id: string; env: Record<string, string>; shell: string } | undefined;
  private readonly services: Record<string, ServiceContext> = {};
  private readonly created = {
    containers: [] as string[],
    volumes: [] as string[],
    images: [] as string[],
  };
  private readonly workspaceInContainer: string;
  private forwards: Promise<HostForwards> | undefined;
  private prepared: Promise<void> | undefined;
  /** Images built for Docker actions in this job, by Dockerfile. */
  private readonly built = new Map<string, string>();
  /** Executors whose jobs have not been released, for a forced exit. */
  private static readonly live = new Set<ContainerExecutor>();

  constructor(private readonly options: ContainerExecutorOptions) {
    this.host = new HostExecutor({
      root: options.root,
      ...(options.toolCache ? { toolCache: options.toolCache } : {}),
      ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
      ...(options.keep !== undefined ? { keep: options.keep } : {}),
      ...(options.reuse !== undefined ? { reuse: options.reuse } : {}),
      ...(options.sandbox ? { sandbox: options.sandbox } : {}),
    });
    this.paths = this.host.paths;
    this.graceMs = options.graceMs ?? 5000;
    const name = basename(options.repository ?? "") || "workspace";
    this.workspaceInContainer = `/__w/${name}/${name}`;
    this.dockerActions = {
      build: (dockerfile, output) => this.buildActionImage(dockerfile, output),
      run: (request, output, signal) => this.runAction(request, output, signal),
    };
  }

  prepare(signal?: AbortSignal): Promise<void> {
    this.prepared ??= this.setUp(signal ?? new AbortController().signal);
    return this.prepared;
  }

  private async setUp(cancel: AbortSignal): Promise<void> {
    ContainerExecutor.live.add(this);
    await this.host.prepare();
    await mkdir(this.homeDir(), { recursive: true });
    // Read the specs first: a malformed one fails the job before anything is created.
    const container = readContainerSpec(this.options.container, "container");
    const services: [string, ContainerSpec][] = [];
    for (const [id, value] of Object.entries(this.options.services ?? {})) {
      const spec = readContainerSpec(value, `services.${id}`);
      if (spec) services.push([id, spec]);
    }
    if (!container && services.length === 0) return; // a job for Docker actions only
    const { docker } = await this.connect();
    await this.ensureNetwork();
    if (container) await this.startJobContainer(docker, container);
    const images: Docker.ImageInspectInfo[] = [];
    const started: Docker.ContainerInspectInfo[] = [];
    for (const [id, spec] of services) {
      this.log(`Starting ${id} service container (${spec.image})`);
      images.push(await ensureImage(docker, spec.image, spec.credentials, (l) => this.log(l)));
      const info = await startContainer(docker, {
        spec,
        name: `trunkline_${id}_${randomUUID().replace(/-/g, "").slice(0, 8)}`,
        network: this.network as string,
        aliases: [id],
        job: this.options.job,
        what: `the ${id} service container`,
        onCreated: (c) => this.created.containers.push(c),
        onVolumeCreated: (v) => this.created.volumes.push(v),
      });
      started.push(info);
      // As GitHub: a service that is not running is worth a warning and its logs, not a failure
      // by itself (a health check decides that).
      if (!info.State.Running)
        this.log(
          `Warning: the ${id} service container is ${info.State.Status} (exit code ${info.State.ExitCode}); its last logs:\n${await lastLogs(docker, info.Id)}`,
        );
      this.services[id] = {
        id: info.Id,
        network: this.network as string,
        ports: publishedPorts(info),
      };
    }
    for (const [i, [id, spec]] of services.entries())
      await waitHealthy(
        docker,
        id,
        started[i] as Docker.ContainerInspectInfo,
        spec,
        images[i] as Docker.ImageInspectInfo,
        (l) => this.log(l),
        cancel,
      );
  }

  private async startJobContainer(docker: Docker, spec: ContainerSpec): Promise<void> {
    this.log(`Starting job container (${spec.image})`);
    // Bind sources must exist (Docker would create them owned by root, Podman may refuse).
    for (const m of this.options.mounts ?? []) await mkdir(m.host, { recursive: true });
    await ensureImage(docker, spec.image, spec.credentials, (l) => this.log(l));
    const info = await startContainer(docker, {
      spec,
      name: `trunkline_job_${randomUUID().replace(/-/g, "").slice(0, 8)}`,
      network: this.network as string,
      aliases: [],
      job: this.options.job,
      binds: this.jobLayout().binds,
      // As GitHub: a process that keeps the container up; steps come in through exec.
      entrypoint: ["tail"],
      cmd: ["-f", "/dev/null"],
      workdir: this.workspaceInContainer,
      env: { HOME: IN_JOB_CONTAINER.home },
      what: "the job container",
      onCreated: (c) => this.created.containers.push(c),
      onVolumeCreated: (v) => this.created.volumes.push(v),
    });
    if (!info.State.Running)
      throw new ContainerError(
        `the job container (${spec.image}) is not running: ${info.State.Status}`,
      );
    const env: Record<string, string> = {};
    for (const e of info.Config.Env ?? []) {
      const eq = e.indexOf("=");
      if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
    }
    // GitHub's default shell is bash, or sh where the container has no bash. Looked up with
    // the archive API's stat (a few ms per PATH entry) rather than an exec (~0.2 s).
    const dirs = (env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(":").filter(Boolean);
    let bash = false;
    for (const dir of dirs) {
      bash = await docker
        .getContainer(info.Id)
        .infoArchive({ path: `${dir}/bash` })
        .then(
          () => true,
          () => false,
        );
      if (bash) break;
    }
    this.jobContainer = { id: info.Id, env, shell: bash ? "bash" : "sh" };
  }

  private jobLayout(): ContainerLayout {
    return jobContainerLayout(
      this.paths,
      this.homeDir(),
      this.workspaceInContainer,
      this.options.mounts ?? [],
    );
  }

  private homeDir(): string {
    return join(this.options.root, "home");
  }

  async exec(request: ExecRequest, output: ExecOutput, signal: AbortSignal): Promise<ExecResult> {
    const job = this.jobContainer;
    if (!job || !this.engine) return this.host.exec(request, output, signal);
    const map = this.jobLayout().paths;
    const argv = request.argv.map((a) => map.toContainer(a));
    const result = await execInContainer(
      this.engine.docker,
      job.id,
      {
        argv,
        env: (await this.hostForwards()).rewrite(map.envToContainer(request.env)),
        cwd: map.toContainer(request.cwd),
      },
      output,
      signal,
      this.graceMs,
    );
    // The engine reports a missing program as exit code 127 with a message of its own; say it
    // plainly when the program is indeed not in the container (checked only on that path).
    if (result.exitCode === 127 && !result.aborted && argv[0] && !(await this.has(argv[0])))
      output.stderr(`${argv[0]}: not found in the job container (${this.options.job})\n`);
    return result;
  }

  /** Whether `program` is on the job container's PATH (or is an existing path in it). */
  private async has(program: string): Promise<boolean> {
    const job = this.jobContainer;
    if (!job || !this.engine) return false;
    const probe = await execInContainer(
      this.engine.docker,
      job.id,
      // The name is an argument of the script, never part of it.
      { argv: ["sh", "-c", 'command -v "$1"', "sh", program], env: {}, cwd: "/" },
      { stdout: () => undefined, stderr: () => undefined },
      new AbortController().signal,
      this.graceMs,
    ).catch(() => undefined);
    return probe?.exitCode === 0;
  }

  baseEnv(): Readonly<Record<string, string>> | undefined {
    // Without a job container, steps run on the host, in its sandbox.
    return this.jobContainer?.env ?? this.host.baseEnv();
  }

  handOver(): void {
    this.host.handOver();
  }

  jobProcess(argv: readonly string[], cwd: string): readonly string[] | undefined {
    return this.host.jobProcess(argv, cwd);
  }

  defaultShell(): string | undefined {
    return this.jobContainer?.shell === "sh" ? "sh" : undefined;
  }

  jobContext(): Readonly<Record<string, unknown>> {
    return {
      ...(this.network
        ? { container: { id: this.jobContainer?.id ?? "", network: this.network } }
        : {}),
      services: { ...this.services },
    };
  }

  private async buildActionImage(dockerfile: string, output: ExecOutput): Promise<string> {
    // One build per Dockerfile and job: pre, main and post entrypoints share the image.
    const built = this.built.get(dockerfile);
    if (built) return built;
    const { docker } = await this.connect();
    const tag = `localhost/trunkline-action:${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    await buildImage(docker, dirname(dockerfile), dockerfile, tag, (l) => output.stdout(`${l}\n`));
    this.created.images.push(tag);
    this.built.set(dockerfile, tag);
    return tag;
  }

  private async runAction(
    request: DockerActionRequest,
    output: ExecOutput,
    signal: AbortSignal,
  ): Promise<ExecResult> {
    const { docker } = await this.connect();
    await ensureImage(docker, request.image, request.credentials, (l) => output.stdout(`${l}\n`));
    await this.ensureNetwork();
    const socket = this.engine?.where.startsWith("/") ? this.engine.where : undefined;
    const { binds, paths } = actionContainerLayout(this.paths, this.homeDir(), socket);
    return runActionContainer(
      docker,
      {
        image: request.image,
        ...(request.entrypoint ? { entrypoint: request.entrypoint } : {}),
        args: request.args,
        env: (await this.hostForwards()).rewrite({ ...request.env, HOME: this.homeDir() }),
        binds,
        paths,
        network: this.network as string,
        job: this.options.job,
        workdir: "/github/workspace",
      },
      output,
      signal,
      this.graceMs,
    );
  }

  private async connect(): Promise<ContainerEngine> {
    this.engine ??= this.options.engine ?? (await findEngine());
    // Once per process and engine: what dead Trunkline processes of this machine left behind.
    const engine = this.engine;
    let sweep = swept.get(engine.docker);
    if (!sweep) {
      sweep = removeStaleResources(engine.docker).then(
        (removed) => {
          if (removed.length > 0)
            this.log(`Removed what ended Trunkline runs left behind: ${removed.join(", ")}`);
        },
        () => undefined,
      );
      swept.set(engine.docker, sweep);
    }
    await sweep;
    return engine;
  }

  /** The forwards of {@link ContainerExecutorOptions.hostServices} on the job's network, opened once. */
  private async hostForwards(): Promise<HostForwards> {
    await this.ensureNetwork();
    // A remote engine's gateway is another machine's address.
    const where = this.engine?.where ?? "";
    const local = where.startsWith("/") || where.startsWith("DOCKER_HOST=unix:");
    this.forwards ??= HostForwards.open(
      (this.engine as ContainerEngine).docker,
      this.network as string,
      local ? (this.options.hostServices ?? []) : [],
    );
    return this.forwards;
  }

  private async ensureNetwork(): Promise<void> {
    if (this.network) return;
    const { docker } = await this.connect();
    const name = `trunkline_${randomUUID().replace(/-/g, "")}`;
    await docker.createNetwork({ Name: name, Labels: jobLabels(this.options.job) });
    this.network = name;
  }

  /** Removes every container, the network, created volumes and built images; then the job's directory. */
  async release(): Promise<void> {
    await this.prepared?.catch(() => undefined);
    await (await this.forwards?.catch(() => undefined))?.close();
    const docker = this.engine?.docker;
    if (docker) {
      await Promise.all(
        this.created.containers.map(async (id) => {
          const c = docker.getContainer(id);
          await c.kill().catch(() => undefined);
          await c.remove({ force: true, v: true }).catch(() => undefined);
        }),
      );
      if (this.network)
        await docker
          .getNetwork(this.network)
          .remove()
          .catch(() => undefined);
      for (const v of this.created.volumes)
        await docker
          .getVolume(v)
          .remove()
          .catch(() => undefined);
      for (const i of this.created.images)
        await docker
          .getImage(i)
          .remove({ force: true })
          .catch(() => undefined);
    }
    ContainerExecutor.live.delete(this);
    await this.host.release();
  }

  /**
   * Removes the containers, networks, volumes and images of every job still running in this
   * process (a forced exit), giving up after `timeoutMs`.
   */
  static async removeEverything(timeoutMs: number): Promise<void> {
    const all = Promise.all(
      [...ContainerExecutor.live].map((e) => e.release().catch(() => undefined)),
    );
    await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}
