import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ArtifactStore } from "../runner/actions/builtin/artifact-store.js";
import { CacheStore } from "../runner/actions/builtin/cache-store.js";
import { ArtifactService } from "./artifact-service.js";
import { CacheService } from "./cache-service.js";
import { type RuntimeScope, RuntimeTokens } from "./runtime-token.js";

/** The runtime services of a local run or of one agent's job, on a loopback port of their own. */
export interface LocalRuntime {
  /**
   * What the node actions of one job get to reach the services (`ACTIONS_CACHE_URL`,
   * `ACTIONS_RESULTS_URL`, `ACTIONS_RUNTIME_URL`, `ACTIONS_RUNTIME_TOKEN`, for actions only),
   * with a token of that job's run and job; the run's artifacts live in `artifactDir`. With
   * `server`, the job's artifacts (and with `cacheUrl` its caches) go to the server's services
   * instead, with the token the server issued, which this runtime's cache service accepts too.
   */
  envFor(
    scope: RuntimeScope,
    artifactDir: string,
    server?: { readonly token: string; readonly resultsUrl: string; readonly cacheUrl?: string },
  ): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/**
 * Starts GitHub's runtime services on a loopback port: the cache service (`@actions/cache`)
 * on the repository's cache store, which the built-in `actions/cache` uses too, and the
 * artifact service v4 (`@actions/artifact`) on each run's artifact store, which the built-in
 * upload and download actions use. Tokens are JWTs under a secret of this runtime alone.
 */
export async function startLocalRuntime(cacheDir: string): Promise<LocalRuntime> {
  const tokens = new RuntimeTokens(randomBytes(32));
  const urlSecret = randomBytes(32);
  const artifactDirs = new Map<string, string>();
  // Tokens a server issued for jobs this runtime serves the cache to.
  const accepted = new Set<string>();
  let cache: CacheService | undefined;
  let artifacts: ArtifactService | undefined;
  const fail = (res: import("node:http").ServerResponse) => () => {
    if (!res.headersSent) res.writeHead(500).end();
    else res.destroy();
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    if (cache && path.startsWith("/cache/")) {
      void cache.handle(req, res, path.slice("/cache".length)).catch(fail(res));
    } else if (artifacts && ArtifactService.handles(path)) {
      void artifacts.handle(req, res).catch(fail(res));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // A run that ends by an error does not wait for it.
  server.unref();
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cache = new CacheService(new CacheStore(cacheDir), {
    authorized: async (token) => accepted.has(token) || (await tokens.verify(token)) !== undefined,
    urlSecret,
    baseOf: () => `${origin}/cache/`,
  });
  artifacts = new ArtifactService({
    storeFor: (runId) => {
      const dir = artifactDirs.get(runId);
      // Only runs this runtime issued tokens for reach here, so a dir is always known.
      if (dir === undefined) throw new Error(`no artifact store for run ${runId}`);
      return new ArtifactStore(dir);
    },
    verify: (token) => tokens.verify(token),
    originOf: () => origin,
    urlSecret,
  });
  return {
    envFor: async (scope, artifactDir, server) => {
      if (server) accepted.add(server.token);
      else artifactDirs.set(scope.runId, artifactDir);
      // The server's cache service when it has one: the repository's caches are shared there.
      const cacheUrl = server?.cacheUrl ?? `${origin}/cache/`;
      return {
        ACTIONS_CACHE_URL: cacheUrl,
        ACTIONS_RUNTIME_URL: cacheUrl,
        ACTIONS_RESULTS_URL: server?.resultsUrl ?? `${origin}/`,
        ACTIONS_RUNTIME_TOKEN: server?.token ?? (await tokens.issue(scope)),
      };
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await cache?.close();
      await artifacts?.close();
    },
  };
}
