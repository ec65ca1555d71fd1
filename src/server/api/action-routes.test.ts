import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sqliteDatabase } from "../../../test/helpers/databases.js";
import { type GitHost, startGitHost } from "../../../test/helpers/git-host.mjs";
import { rawRequest } from "../../../test/helpers/git-wire.js";
import { gitHostSources } from "../../actions/action-sources.js";
import { ActionStore } from "../../actions/action-store.js";
import { SecretBox } from "../../secrets/secret-box.js";
import { openStore, type Store } from "../../store/open-store.js";
import { buildApp } from "../app.js";
import { registerRunner } from "../auth/runner-tokens.js";
import { createToken } from "../auth/tokens.js";

// The server's action store as agents reach it: runner tokens only on the resolve route,
// read-only git, and a ref the server's sources do not have is a 404 naming them.

describe("the action routes", () => {
  let host: GitHost;
  let store: Store;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let base: string;
  let runnerToken: string;
  let apiToken: string;
  let sha: string;
  const dataDir = mkdtempSync(join(tmpdir(), "trunkline-action-routes-"));
  beforeAll(async () => {
    host = await startGitHost();
    sha = host.publish("acme/tool", { "action.yml": "runs: {using: node20, main: i.js}\n" }, [
      "v1",
    ]);
    store = await openStore(sqliteDatabase().options);
    app = await buildApp({
      store,
      box: new SecretBox(Buffer.alloc(32, 1)),
      logger: false,
      dataDir,
      actions: new ActionStore(join(dataDir, "actions"), gitHostSources([host.url])),
    });
    base = await app.listen({ port: 0, host: "127.0.0.1" });
    runnerToken = (await registerRunner(store.db, { name: "r", labels: ["linux"], capacity: 1 }))
      .token;
    apiToken = (await createToken(store.db, "admin", "admin")).token;
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const resolve = (path: string, token: string) =>
    fetch(`${base}/api/v1/actions/${path}`, { headers: { authorization: `Bearer ${token}` } });

  test("a runner resolves a ref (with slashes too); nothing else may", async () => {
    const answer = await resolve("acme/tool/commits/v1", runnerToken);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ sha });
    expect((await resolve("acme/tool/commits/v1", apiToken)).status).toBe(401);
    expect((await fetch(`${base}/api/v1/actions/acme/tool/commits/v1`)).status).toBe(401);
    const missing = await resolve("acme/tool/commits/release/v9", runnerToken);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { message: string }).message).toContain(
      `the server tried ${host.url}/acme/tool`,
    );
    const bad = await resolve("..%2Fetc/tool/commits/v1", runnerToken);
    expect(bad.status).toBe(400);
  });

  test("its git is read-only and needs a token", async () => {
    const auth = { authorization: `Bearer ${runnerToken}` };
    const refs = await rawRequest(
      base,
      "GET",
      "/_actions/acme/tool.git/info/refs?service=git-upload-pack",
      {
        headers: auth,
      },
    );
    expect(refs.status).toBe(200);
    const anonymous = await rawRequest(
      base,
      "GET",
      "/_actions/acme/tool.git/info/refs?service=git-upload-pack",
    );
    expect(anonymous.status).toBe(401);
    const push = await rawRequest(
      base,
      "GET",
      "/_actions/acme/tool.git/info/refs?service=git-receive-pack",
      { headers: auth },
    );
    expect(push.status).toBe(400);
    expect(push.body.toString()).toContain("read-only");
    const outside = await rawRequest(base, "GET", "/_actions/acme/%2E%2E/info/refs", {
      headers: auth,
    });
    expect(outside.status).toBe(400);
  });
});
