import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CacheStore } from "../runner/actions/builtin/cache-store.js";
import { CacheService } from "./cache-service.js";

/** The runtime services of a local run, and what actions' processes need to reach them. */
export interface LocalRuntime {
  /** `ACTIONS_CACHE_URL`, `ACTIONS_RUNTIME_URL` and `ACTIONS_RUNTIME_TOKEN`, for actions only. */
  readonly env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/**
 * Starts GitHub's runtime services for one local run on a loopback port of its own: the
 * cache service (`@actions/cache`) on the repository's cache store, which the built-in
 * `actions/cache` uses too. The token is the run's own, random, and masked like a secret.
 */
export async function startLocalRuntime(cacheDir: string): Promise<LocalRuntime> {
  const token = randomBytes(24).toString("base64url");
  let base = "";
  let cache: CacheService | undefined;
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    if (!cache || !path.startsWith("/cache/")) {
      res.writeHead(404).end();
      return;
    }
    void cache.handle(req, res, path.slice("/cache".length)).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // A run that ends by an error does not wait for it.
  server.unref();
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cache = new CacheService(new CacheStore(cacheDir), token, `${base}/cache/`);
  return {
    env: {
      ACTIONS_CACHE_URL: `${base}/cache/`,
      ACTIONS_RUNTIME_URL: `${base}/cache/`,
      ACTIONS_RUNTIME_TOKEN: token,
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await cache?.close();
    },
  };
}
