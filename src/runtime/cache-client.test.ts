import { mkdtempSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RemoteCaches } from "./cache-client.js";
import { type LocalRuntime, startLocalRuntime } from "./local-runtime.js";

// The built-in cache actions' client of a cache service, against the real service over HTTP.

describe("remote caches", () => {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-cache-client-"));
  let runtime: LocalRuntime;
  let caches: RemoteCaches;
  beforeAll(async () => {
    runtime = await startLocalRuntime(join(dir, "store"));
    const env = await runtime.envFor({ runId: "1", jobId: "j" }, join(dir, "artifacts"));
    caches = new RemoteCaches({
      cacheUrl: env.ACTIONS_CACHE_URL as string,
      token: env.ACTIONS_RUNTIME_TOKEN as string,
      scratch: join(dir, "scratch"),
    });
  });
  afterAll(async () => {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const build = (text: string) => async (into: string) => {
    await writeFile(join(into, "0.tgz"), text);
    return [{ index: 0, archive: "0.tgz" }];
  };

  test("an entry saved is found by its key and by a prefix, with its archives; a key is saved once", async () => {
    expect(await caches.match("deps-linux-1", ["deps-"], "v1")).toBeUndefined();
    expect(await caches.save("deps-linux-1", "v1", build("first"))).toBe("saved");
    expect(await caches.exists("deps-linux-1", "v1")).toBe(true);
    expect(await caches.exists("deps-linux-1", "v2")).toBe(false);
    const exact = await caches.match("deps-linux-1", [], "v1");
    expect(exact?.exact).toBe(true);
    expect(exact?.entry.roots).toEqual([{ index: 0, archive: "0.tgz" }]);
    expect(await readFile(join(exact?.entry.dir ?? "", "0.tgz"), "utf8")).toBe("first");
    const prefix = await caches.match("deps-linux-2", ["deps-"], "v1");
    expect(prefix).toMatchObject({ exact: false, entry: { key: "deps-linux-1" } });
    expect(await caches.save("deps-linux-1", "v1", build("second"))).toBe("exists");
    await caches.close();
    await expect(readFile(join(exact?.entry.dir ?? "", "0.tgz"))).rejects.toThrow();
  });

  test("an entry whose roots point outside its own files is refused, not opened", async () => {
    const evil = async () => [{ index: 0, archive: "../../../etc/shadow.tgz" }];
    expect(await caches.save("evil-1", "v1", evil)).toBe("saved");
    await expect(caches.match("evil-1", [], "v1")).rejects.toThrow(
      "cache entry 'evil-1' from the server is malformed: bad archive name '../../../etc/shadow.tgz'",
    );
  });

  test("a token the service did not issue is refused with its answer", async () => {
    const stranger = new RemoteCaches({
      cacheUrl: (await runtime.envFor({ runId: "2", jobId: "k" }, join(dir, "a2")))
        .ACTIONS_CACHE_URL as string,
      token: "not-a-token",
      scratch: join(dir, "scratch2"),
    });
    await expect(stranger.exists("x", "v1")).rejects.toThrow(/HTTP 401/);
  });
});
