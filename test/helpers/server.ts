import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { SecretBox } from "../../src/secrets/secret-box.js";
import { buildApp } from "../../src/server/app.js";
import { createToken } from "../../src/server/auth/tokens.js";
import { RunService } from "../../src/server/runs/run-service.js";
import { Scheduler } from "../../src/server/runs/scheduler.js";
import { runWebhook } from "../../src/server/runs/webhook-runs.js";
import type { Store } from "../../src/store/open-store.js";

/** A server in this process on a real store and loopback port, wired as `trunkline serve` wires it. */
export interface TestServer {
  readonly app: FastifyInstance;
  readonly service: RunService;
  readonly scheduler: Scheduler;
  readonly box: SecretBox;
  readonly dataDir: string;
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  /** A token of each role. */
  readonly tokens: Readonly<Record<"admin" | "maintainer" | "developer" | "viewer", string>>;
  /** Errors the runner logged; a test expects none. */
  readonly errors: unknown[];
  /** The git URL of a repository, with a developer token as its password. */
  gitUrl(repository: string): string;
  /** Calls the API as a role; JSON in and out. */
  api(
    role: keyof TestServer["tokens"],
    method: string,
    url: string,
    payload?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: a JSON body, which each test checks against its expectations
  ): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** Starts a {@link TestServer} on an open store (the caller closes the store). */
export async function startTestServer(
  store: Store,
  options: { webhookSecret?: string; runnerCapacity?: number; leaseMs?: number } = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "trunkline-server-"));
  const box = new SecretBox(randomBytes(32));
  const errors: unknown[] = [];
  const log = pino({ level: "warn" }, { write: (line: string) => errors.push(JSON.parse(line)) });
  const service = new RunService({
    store,
    box,
    dataDir,
    log,
    ...(options.runnerCapacity !== undefined ? { embeddedCapacity: options.runnerCapacity } : {}),
    ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
  });
  await service.startRunners();
  const scheduler = new Scheduler({ store, service, log });
  const app = await buildApp({
    store,
    box,
    logger: false,
    dataDir,
    ...(options.webhookSecret ? { webhookSecret: options.webhookSecret } : {}),
    onPush: service.onPush,
    onWebhook: (repo, intent, payload) =>
      service.background(runWebhook(service, repo, intent, payload), "webhook failed"),
    runs: {
      cancel: (id, actor) => service.cancel(id, actor),
      dispatch: (repo, request) => service.dispatch(repo, request),
      rerun: (id, failedOnly, actor) => service.rerun(id, failedOnly, actor),
      schedules: (repo, branch) => scheduler.upcoming(repo, branch, new Date()),
    },
    jobs: service.jobs,
    serverId: service.presence.id,
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const tokens = {
    admin: (await createToken(store.db, "admin", "admin")).token,
    maintainer: (await createToken(store.db, "maintainer", "maintainer")).token,
    developer: (await createToken(store.db, "developer", "developer")).token,
    viewer: (await createToken(store.db, "viewer", "viewer")).token,
  };
  return {
    app,
    service,
    scheduler,
    box,
    dataDir,
    base,
    tokens,
    errors,
    gitUrl: (repository) =>
      `${base.replace("://", `://x:${tokens.developer}@`)}/git/${repository}.git`,
    api: async (role, method, url, payload) => {
      const response = await app.inject({
        method: method as "GET",
        url,
        headers: { authorization: `Bearer ${tokens[role]}` },
        ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
      });
      return {
        status: response.statusCode,
        body: response.body ? (JSON.parse(response.body) as unknown) : undefined,
      };
    },
    close: async () => {
      scheduler.stop();
      await app.close();
      await service.idle();
      await service.stopRunners();
      await service.leave();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
