import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { configuredSources, gitHostSources } from "../actions/action-sources.js";
import { AGENT_PROTOCOL } from "../agent/agent-protocol.js";
import { HttpTransport } from "../agent/http-transport.js";
import { JobAgent } from "../agent/job-agent.js";
import { ServerActionSource } from "../agent/server-action-source.js";
import { ApiError } from "../common/errors.js";
import { chooseJobSandbox, describeSandbox } from "../executors/host/choose-sandbox.js";
import { checkApart, defaultJobsDir, ensureOwnDir } from "../executors/host/jobs-dir.js";
import { nodeSources } from "../toolcache/node-sources.js";
import type { ActionFlags } from "./action-flags.js";
import { ApiClient } from "./api-client.js";
import { dataDirOf } from "./data-dir.js";
import type { Output } from "./terminal.js";

/** Options of `trunkline agent`. */
export interface AgentOptions {
  readonly server: string;
  /** A maintainer's API token, used once to register. */
  readonly token?: string;
  readonly labels: readonly string[];
  readonly capacity: number;
  /** Where the registration (the runner token) is kept. @default `<data dir>/agent` */
  readonly workDir?: string;
  /**
   * Where jobs run; apart from the work directory, which jobs must not reach.
   * @default `<defaultJobsDir()>/agent-<hash of the work directory>`
   */
  readonly jobsDir?: string;
  /** As root, the user jobs run as (`NAME`, `UID` or `UID:GID`). @default trunkline-job, else nobody */
  readonly jobUser?: string;
  /**
   * Not root: more directories jobs must not see (its work directory and the default data
   * directory always are).
   */
  readonly hide?: readonly string[];
  readonly name?: string;
  /** Where remote actions come from: its own mirrors first, then `--actions-url` or the server. */
  readonly actionSources?: ActionFlags;
}

interface Registration {
  readonly server: string;
  readonly id: string;
  readonly token: string;
  readonly labels: readonly string[];
  /** The name it registered with (files written before names were kept have none). */
  readonly name?: string;
}

/**
 * `trunkline agent`: runs jobs for a server from this machine. On first start it registers
 * with the API token given (the runner token it gets back is kept, mode 0600, in the work
 * directory, and used from then on), then long-polls for jobs until SIGINT/SIGTERM; a
 * stopping agent takes no new job and lets its running ones finish.
 */
export async function agentCommand(
  options: AgentOptions,
  io: Output,
  stop: AbortSignal,
): Promise<number> {
  const server = options.server.replace(/\/+$/, "");
  const workDir = resolve(options.workDir ?? join(dataDirOf({}), "agent"));
  const jobsDir = resolve(
    options.jobsDir ??
      join(
        defaultJobsDir(),
        `agent-${createHash("sha256").update(workDir).digest("hex").slice(0, 12)}`,
      ),
  );
  const hide = [workDir, dataDirOf({}), ...(options.hide ?? []).map((d) => resolve(d))];
  for (const dir of hide) checkApart(jobsDir, dir, "--jobs-dir");
  const { sandbox, warning } = chooseJobSandbox({
    flag: "--job-user",
    hide,
    ...(options.jobUser !== undefined ? { jobUser: options.jobUser } : {}),
  });
  // The runner token is here: only this user may read it.
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  chmodSync(workDir, 0o700);
  if (options.jobsDir === undefined) ensureOwnDir(defaultJobsDir(), 0o711, "the jobs directory");
  const file = join(workDir, "runner.json");
  let registration = existsSync(file)
    ? (JSON.parse(readFileSync(file, "utf8")) as Registration)
    : undefined;
  const sameLabels = (a: readonly string[], b: readonly string[]) =>
    [...a]
      .map((l) => l.toLowerCase())
      .sort()
      .join(",") ===
    [...b]
      .map((l) => l.toLowerCase())
      .sort()
      .join(",");
  if (
    !registration ||
    registration.server !== server ||
    !sameLabels(registration.labels, options.labels)
  ) {
    if (!options.token)
      throw new ApiError(
        `this agent is not registered with ${server}: pass --token (a maintainer's API token) once`,
      );
    const api = new ApiClient({ server, token: options.token });
    const name = options.name ?? hostname();
    const { id, token } = await api.request<{ id: string; token: string }>(
      "POST",
      "/api/v1/runners",
      {
        name,
        labels: options.labels,
        capacity: options.capacity,
        protocol: AGENT_PROTOCOL,
      },
    );
    registration = { server, id, token, labels: [...options.labels], name };
    writeFileSync(file, JSON.stringify(registration), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const agent = new JobAgent({
    name: registration.name ?? options.name ?? hostname(),
    transport: new HttpTransport(server, registration.token, undefined, (what, reason) =>
      io.err(`trunkline: agent: the server refused ${what} (${reason}); the job is stopped`),
    ),
    workDir: jobsDir,
    sandbox,
    capacity: options.capacity,
    baseEnv: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
    sourceHeaders: { Authorization: `Bearer ${registration.token}` },
    nodeSources: nodeSources(options.actionSources?.nodeSources ?? []),
    pythonSources: options.actionSources?.pythonSources ?? [],
    actionSources: [
      ...configuredSources(options.actionSources?.mirrors ?? [], ["none"]),
      ...(options.actionSources?.urls.length
        ? gitHostSources(options.actionSources.urls, options.actionSources.token)
        : [new ServerActionSource(server, registration.token)]),
    ],
    onError: (err) => io.err(`trunkline: agent: ${err.message} (retrying)`),
  });
  io.err(`trunkline: ${describeSandbox(sandbox, jobsDir)}`);
  if (warning) io.err(`trunkline: warning: ${warning}`);
  io.err(
    `trunkline: agent ${registration.id} (${options.labels.join(", ")}; ${options.capacity} at once) connected to ${server}; waiting for jobs`,
  );
  try {
    await agent.run(stop);
  } catch (err) {
    // Asking again cannot change the server's version: say so and stop.
    if (err instanceof ApiError && err.serverCode === "agent_protocol") {
      io.err(`trunkline: agent ${registration.id}: ${err.message}`);
      return 1;
    }
    if (!(err instanceof ApiError && err.status === 401)) throw err;
    // The registration is worth nothing now; without it the next start registers anew.
    rmSync(file, { force: true });
    io.err(
      `trunkline: agent ${registration.id}: ${err.message}; its registration was deleted: start the agent again with --token to register anew`,
    );
    return 1;
  }
  io.err("trunkline: agent stopped");
  return 0;
}
