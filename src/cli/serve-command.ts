import { chmodSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pino from "pino";
import { configuredSources } from "../actions/action-sources.js";
import { ActionStore } from "../actions/action-store.js";
import { chooseJobSandbox, describeSandbox } from "../executors/host/choose-sandbox.js";
import { checkApart, defaultJobsDir } from "../executors/host/jobs-dir.js";
import { JobQueue } from "../queue/job-queue.js";
import { ServerRuntime } from "../runtime/server-runtime.js";
import { loadMasterKey, SecretBox } from "../secrets/secret-box.js";
import { readSecret } from "../secrets/secret-store.js";
import { buildApp } from "../server/app.js";
import { createToken } from "../server/auth/tokens.js";
import { RunService } from "../server/runs/run-service.js";
import { Scheduler } from "../server/runs/scheduler.js";
import { runWebhook } from "../server/runs/webhook-runs.js";
import { openStore } from "../store/open-store.js";
import { keepDataDirPrivate } from "../store/private-files.js";
import { nodeSources } from "../toolcache/node-sources.js";
import { ACTIONS_TOKEN_SECRET, type ActionFlags } from "./action-flags.js";
import { dataDirOf } from "./data-dir.js";
import { openExistingStore } from "./existing-store.js";
import type { Output } from "./terminal.js";

/** The exit code of a server that must stop and be started again (sysexits' EX_TEMPFAIL). */
const EX_TEMPFAIL = 75;

/** Options of `trunkline serve` and of the commands that work on a server's store. */
export interface ServerOptions {
  readonly port: number;
  readonly host: string;
  readonly dataDir?: string;
  readonly database?: string;
  /** Jobs the embedded runner runs at once; 0 for none (agents only). @default 2 */
  readonly runnerCapacity?: number;
  /** Seconds a runner's lease lasts without a heartbeat. @default 30 */
  readonly leaseSeconds?: number;
  /** What jobs see as `github.server_url` (`--server-url`). */
  readonly serverUrl?: string;
  /** How long a job may wait for a runner before it fails. @default 1440 (24 hours) */
  readonly queueTimeoutMinutes?: number;
  /** Times a run whose only failures are lost runners starts again by itself. @default 0 */
  readonly retryRunnerLost?: number;
  /**
   * The user the embedded runner's jobs run as when the server runs as root: `NAME`, `UID`
   * or `UID:GID`. @default `trunkline-job` if it exists, else `nobody`
   */
  readonly jobUser?: string;
  /** Where the embedded runner's job directories go. @default {@link defaultJobsDir} */
  readonly jobsDir?: string;
  /** Where remote actions come from, for the embedded runner and for agents. */
  readonly actionSources?: ActionFlags;
}

/**
 * `trunkline serve`: opens the store (SQLite in the data directory, or `--database`
 * Postgres), starts the API, git hosting, webhooks, the scheduler and the in-process runner,
 * and serves until
 * SIGINT/SIGTERM. On a store without tokens it creates an admin token and writes it, mode
 * 0600, to `<data dir>/admin-token`.
 */
export async function serveCommand(
  options: ServerOptions,
  io: Output,
  stop: AbortSignal,
): Promise<number> {
  const dataDir = dataDirOf(options);
  // Checked before anything is made: a mistaken flag leaves nothing behind.
  const runsJobs = (options.runnerCapacity ?? 2) > 0;
  const jobsDir = resolve(options.jobsDir ?? defaultJobsDir());
  const choice = runsJobs
    ? chooseJobSandbox({
        flag: "--job-user",
        hide: [dataDir],
        ...(options.jobUser !== undefined ? { jobUser: options.jobUser } : {}),
      })
    : undefined;
  if (runsJobs) checkApart(jobsDir, dataDir, "--jobs-dir");
  keepDataDirPrivate(dataDir);
  const store = await openStore({
    dataDir,
    ...(options.database ? { url: options.database } : {}),
  });
  const masterKey = loadMasterKey({ file: join(dataDir, "master.key") });
  const box = new SecretBox(masterKey);
  // Artifacts of every job, wherever it ran, and the tokens jobs reach them with.
  const runtime = await ServerRuntime.open(masterKey, dataDir, store.db, box, options.serverUrl);
  const tokens = await store.db.selectFrom("tokens").select("id").limit(1).execute();
  if (tokens.length === 0) {
    const file = join(dataDir, "admin-token");
    const { token } = await createToken(store.db, "first admin", "admin");
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    io.err(
      `trunkline: created an admin token in ${file} (keep it secret; make others with 'trunkline token create')`,
    );
  }
  const webhookSecret = process.env.TRUNKLINE_WEBHOOK_SECRET;
  const log = pino();
  const sources = options.actionSources;
  // The git hosts' token: $TRUNKLINE_ACTIONS_TOKEN, else the organisation secret of that name.
  const actionsToken =
    sources?.token ??
    (await readSecret(store.db, box, { kind: "organization" }, ACTIONS_TOKEN_SECRET));
  // Agents and the embedded runner take their actions from here: only the server fetches.
  const actions = new ActionStore(
    join(dataDir, "actions"),
    configuredSources(sources?.mirrors ?? [], sources?.urls ?? [], actionsToken),
  );
  const service = new RunService({
    actions,
    runtime,
    nodeSources: nodeSources(sources?.nodeSources ?? []),
    pythonSources: sources?.pythonSources ?? [],
    store,
    box,
    dataDir,
    log,
    ...(options.runnerCapacity !== undefined ? { embeddedCapacity: options.runnerCapacity } : {}),
    jobsDir,
    ...(choice ? { sandbox: choice.sandbox } : {}),
    ...(options.leaseSeconds !== undefined ? { leaseMs: options.leaseSeconds * 1000 } : {}),
    ...(options.serverUrl ? { serverUrl: options.serverUrl } : {}),
    ...(options.queueTimeoutMinutes !== undefined
      ? { queueTimeoutMs: options.queueTimeoutMinutes * 60_000 }
      : {}),
    ...(options.retryRunnerLost ? { retryRunnerLost: options.retryRunnerLost } : {}),
    onFenced: () => {
      // Its runs are another process's now: going on would run them twice. A supervisor
      // (systemd, Kubernetes) starts it again, as a new process.
      log.fatal(
        "another server process counted this one as gone (cut off from the database for longer than 30 s) and carries its runs on: exiting",
      );
      process.exit(EX_TEMPFAIL);
    },
  });
  // A job's credentials end with its lease.
  const queue = new JobQueue(store.db, store.dialect);
  runtime.tokens.checkLeasesWith((lease) => queue.leased(lease));
  const scheduler = new Scheduler({ store, service, log });
  const app = await buildApp({
    store,
    box,
    dataDir,
    loggerInstance: log,
    ...(webhookSecret ? { webhookSecret } : {}),
    onPush: service.onPush,
    onWebhook: (repo, intent, payload) =>
      service.background(
        runWebhook(service, repo, intent, payload).then((result) => {
          if ("errors" in result)
            log.warn({ repository: repo.name, errors: result.errors }, "a webhook started no run");
        }),
        `webhook ${intent.kind} for ${repo.name} failed`,
      ),
    runs: {
      cancel: (id, actor) => service.cancel(id, actor),
      dispatch: (repo, request) => service.dispatch(repo, request),
      rerun: (id, failedOnly, actor) => service.rerun(id, failedOnly, actor),
      schedules: (repo, branch) => scheduler.upcoming(repo, branch, new Date()),
    },
    jobs: service.jobs,
    serverId: service.presence.id,
    actions,
    runtime,
  });
  await service.startRunners();
  const { resumed, ended } = await service.resumeUnfinished();
  if (resumed > 0) io.err(`trunkline: carrying on ${resumed} run(s) the last stop left unfinished`);
  if (ended > 0)
    io.err(
      `trunkline: ${ended} run(s) left unfinished by the last stop could not be carried on and ended as failures (server_restarted)`,
    );
  scheduler.start();
  if (choice) io.err(`trunkline: ${describeSandbox(choice.sandbox, jobsDir)}`);
  if (choice?.warning) io.err(`trunkline: warning: ${choice.warning}`);
  const address = await app.listen({ port: options.port, host: options.host });
  // The embedded runner's jobs reach the runtime services here.
  service.listening(address);
  io.err(`trunkline: serving on ${address} (data in ${dataDir}, store: ${store.dialect})`);
  await new Promise<void>((resolveStop) =>
    stop.addEventListener("abort", () => resolveStop(), { once: true }),
  );
  // Stopping: the embedded runner finishes the jobs it holds and takes no more; runs still
  // going (jobs on agents, jobs not started) are carried on by the next start.
  scheduler.stop();
  await service.stopRunners();
  await app.close();
  // Only now, with no agent's request coming in, may another process take its runs over.
  await service.leave();
  await store.close();
  return 0;
}

/** `trunkline token create`: a new API token in an existing server's store, printed once. */
export async function tokenCreateCommand(
  options: ServerOptions & { name: string; role: string },
  io: Output,
): Promise<number> {
  const store = await openExistingStore(options);
  try {
    const { token, info } = await createToken(store.db, options.name, options.role);
    io.out(token);
    io.err(`trunkline: token '${info.name}' (${info.role}) created; it is shown only once`);
    return 0;
  } finally {
    await store.close();
  }
}
