import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CacheStore } from "../runner/actions/builtin/cache-store.js";
import { CacheService } from "./cache-service.js";
import { type LocalRuntime, startLocalRuntime } from "./local-runtime.js";

// The cache service's protocol as @actions/cache's v1 client speaks it, over real HTTP.

describe("the cache service", () => {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-cache-service-"));
  let runtime: LocalRuntime;
  let url: (path: string) => string;
  let auth: Record<string, string>;
  let env: Record<string, string>;
  beforeAll(async () => {
    runtime = await startLocalRuntime(dir);
    env = await runtime.envFor({ runId: "1", jobId: "build" }, join(dir, "artifacts"));
    url = (path) => `${env.ACTIONS_CACHE_URL}_apis/artifactcache/${path}`;
    auth = { authorization: `Bearer ${env.ACTIONS_RUNTIME_TOKEN}` };
  });
  afterAll(async () => {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const json = (body: unknown) => ({
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  async function save(key: string, version: string, data: Buffer): Promise<number> {
    const reserved = await fetch(url("caches"), json({ key, version, cacheSize: data.length }));
    expect(reserved.status).toBe(201);
    const { cacheId } = (await reserved.json()) as { cacheId: number };
    // Two chunks, the second first, as parallel uploads may land.
    const half = Math.floor(data.length / 2);
    for (const [start, end] of [
      [half, data.length - 1],
      [0, half - 1],
    ] as const) {
      const patched = await fetch(url(`caches/${cacheId}`), {
        method: "PATCH",
        headers: {
          ...auth,
          "content-type": "application/octet-stream",
          "content-range": `bytes ${start}-${end}/*`,
        },
        body: data.subarray(start, end + 1),
      });
      expect(patched.status).toBe(204);
    }
    expect((await fetch(url(`caches/${cacheId}`), json({ size: data.length }))).status).toBe(204);
    return cacheId;
  }

  test("an entry is reserved, uploaded in chunks, committed, found and downloaded", async () => {
    const data = Buffer.from("archive bytes ".repeat(1000));
    await save("npm-linux-abc", "v1", data);
    const found = await fetch(url("cache?keys=npm-linux-abc&version=v1"), { headers: auth });
    expect(found.status).toBe(200);
    const entry = (await found.json()) as { cacheKey: string; archiveLocation: string };
    expect(entry.cacheKey).toBe("npm-linux-abc");
    // Fetched without a token, as the toolkit does: the URL is signed.
    const archive = await fetch(entry.archiveLocation);
    expect(archive.status).toBe(200);
    expect(Buffer.from(await archive.arrayBuffer()).equals(data)).toBe(true);
    const forged = await fetch(entry.archiveLocation.replace(/sig=\w+/, `sig=${"0".repeat(64)}`));
    expect(forged.status).toBe(403);
  });

  test("GitHub's matching: exact key, else the newest entry a restore key prefixes; versions apart", async () => {
    await save("deps-linux-1", "v2", Buffer.from("one"));
    await save("deps-linux-2", "v2", Buffer.from("two"));
    const key = async (keys: string, version = "v2") => {
      const answer = await fetch(url(`cache?keys=${encodeURIComponent(keys)}&version=${version}`), {
        headers: auth,
      });
      return answer.status === 204
        ? undefined
        : ((await answer.json()) as { cacheKey: string }).cacheKey;
    };
    expect(await key("deps-linux-1")).toBe("deps-linux-1");
    expect(await key("deps-linux-9,deps-linux-")).toBe("deps-linux-2");
    expect(await key("deps-mac-1,deps-mac-")).toBeUndefined();
    expect(await key("deps-linux-1", "v3")).toBeUndefined();
  });

  test("of two reservations of a key at once, one is refused; close() removes unfinished uploads", async () => {
    const both = await Promise.all(
      [1, 2].map(() => fetch(url("caches"), json({ key: "racing", version: "v1" }))),
    );
    expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
    const uploads = join(dir, ".uploads");
    expect(readdirSync(uploads).length).toBeGreaterThan(0);
    const other = await startLocalRuntime(join(dir, "other"));
    const otherEnv = await other.envFor({ runId: "2", jobId: "b" }, join(dir, "a2"));
    const reserve = await fetch(`${otherEnv.ACTIONS_CACHE_URL}_apis/artifactcache/caches`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${otherEnv.ACTIONS_RUNTIME_TOKEN}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ key: "left", version: "v1" }),
    });
    expect(reserve.status).toBe(201);
    expect(readdirSync(join(dir, "other", ".uploads"))).toHaveLength(1);
    await other.close();
    expect(readdirSync(join(dir, "other", ".uploads"))).toEqual([]);
  });

  test("a saved or reserved key cannot be reserved again; bad requests say why", async () => {
    await save("taken", "v1", Buffer.from("xy"));
    const again = await fetch(url("caches"), json({ key: "taken", version: "v1" }));
    expect(again.status).toBe(409);
    const first = await fetch(url("caches"), json({ key: "busy", version: "v1" }));
    expect(first.status).toBe(201);
    expect((await fetch(url("caches"), json({ key: "busy", version: "v1" }))).status).toBe(409);
    const { cacheId } = (await first.json()) as { cacheId: number };
    const noRange = await fetch(url(`caches/${cacheId}`), {
      method: "PATCH",
      headers: auth,
      body: "abc",
    });
    expect(noRange.status).toBe(400);
    const wrongSize = await fetch(url(`caches/${cacheId}`), json({ size: 99 }));
    expect(wrongSize.status).toBe(400);
    expect(await wrongSize.json()).toEqual({
      message: "the upload has 0 bytes, the commit says 99",
    });
    expect((await fetch(url("cache?keys=taken&version=v1"))).status).toBe(401);
  });
});

describe("the cache service's boundaries", () => {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-cache-bounds-"));
  const secret = new Uint8Array(32).fill(7);
  let server: import("node:http").Server;
  let origin = "";
  const services = new Map<string, CacheService>();
  /** Tokens are `<scope>:<job>:<rw|ro>`: this test's own authorisation. */
  const serviceFor = (scope: string) => {
    let service = services.get(scope);
    if (!service) {
      service = new CacheService(new CacheStore(join(dir, scope)), {
        scope,
        urlSecret: secret,
        baseOf: () => `${origin}/${scope}/`,
        authorize: async (token) => {
          const [s, job, mode] = token.split(":");
          return s === scope && job ? { job, write: mode === "rw" } : undefined;
        },
      });
      services.set(scope, service);
    }
    return service;
  };
  beforeAll(async () => {
    const { createServer } = await import("node:http");
    server = createServer((req, res) => {
      const [, scope = "", ...rest] = (req.url ?? "").split("/");
      void serviceFor(scope).handle(req, res, `/${rest.join("/")}`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as import("node:net").AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  const call = (scope: string, token: string, path: string, init: RequestInit = {}) =>
    fetch(`${origin}/${scope}/_apis/artifactcache/${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        ...init.headers,
      },
    });
  const save = async (scope: string, token: string, key: string) => {
    const reserved = await call(scope, token, "caches", {
      method: "POST",
      body: JSON.stringify({ key, version: "v1" }),
    });
    if (reserved.status !== 201) return reserved.status;
    const { cacheId } = (await reserved.json()) as { cacheId: number };
    await call(scope, token, `caches/${cacheId}`, {
      method: "PATCH",
      headers: { "content-range": "bytes 0-3/*", "content-type": "application/octet-stream" },
      body: "data",
    });
    return (await call(scope, token, `caches/${cacheId}`, { method: "POST", body: '{"size":4}' }))
      .status;
  };

  test("a read-only job restores but cannot save; another job cannot write a job's upload", async () => {
    expect(await save("a", "a:fork:ro", "k1")).toBe(403);
    expect(await save("a", "a:main:rw", "k1")).toBe(204);
    const found = await call("a", "a:fork:ro", "cache?keys=k1&version=v1");
    expect(found.status).toBe(200);
    const reserved = await call("a", "a:main:rw", "caches", {
      method: "POST",
      body: JSON.stringify({ key: "k2", version: "v1" }),
    });
    const { cacheId } = (await reserved.json()) as { cacheId: number };
    const intruder = await call("a", "a:other:rw", `caches/${cacheId}`, {
      method: "PATCH",
      headers: { "content-range": "bytes 0-3/*", "content-type": "application/octet-stream" },
      body: "evil",
    });
    expect(intruder.status).toBe(403);
  });

  test("an archive URL opens its own repository's entry only", async () => {
    expect(await save("b", "b:main:rw", "shared-key")).toBe(204);
    expect(await save("c", "c:main:rw", "shared-key")).toBe(204);
    const found = await call("c", "c:main:rw", "cache?keys=shared-key&version=v1");
    const { archiveLocation } = (await found.json()) as { archiveLocation: string };
    expect((await fetch(archiveLocation)).status).toBe(200);
    // The same entry name under another repository's path: the signature does not hold.
    expect((await fetch(archiveLocation.replace("/c/", "/b/"))).status).toBe(403);
    const stale = archiveLocation.replace(/expires=\d+/, "expires=1000");
    expect((await fetch(stale)).status).toBe(403);
  });
});
