import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sqliteDatabase, type TestDatabase } from "../../../test/helpers/databases.js";
import { committed, git } from "../../../test/helpers/git.js";
import { SecretBox } from "../../secrets/secret-box.js";
import { openStore, type Store } from "../../store/open-store.js";
import { buildApp } from "../app.js";
import { createToken } from "../auth/tokens.js";
import type { RefUpdate } from "./git-http.js";

describe("hosted repositories over git smart HTTP", () => {
  let database: TestDatabase;
  let store: Store;
  let app: FastifyInstance;
  let base: string;
  const pushes: { repo: string; updates: readonly RefUpdate[]; pusher: string }[] = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    database = sqliteDatabase();
    store = await openStore(database.options);
    const dataDir = mkdtempSync(join(tmpdir(), "trunkline-git-"));
    app = await buildApp({
      store,
      box: new SecretBox(randomBytes(32)),
      logger: false,
      dataDir,
      onPush: (repo, updates, pusher) => {
        pushes.push({ repo, updates, pusher: pusher.name });
        return undefined;
      },
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    for (const role of ["admin", "developer", "viewer"])
      tokens[role] = (await createToken(store.db, role, role)).token;
    const created = await app.inject({
      method: "POST",
      url: "/api/v1/repositories",
      headers: { authorization: `Bearer ${tokens.admin}` },
      payload: { name: "app" },
    });
    expect(created.statusCode).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await database.drop();
  });

  const url = (role: string) => `${base.replace("://", `://x:${tokens[role]}@`)}/git/app.git`;

  test("a developer pushes, a viewer clones; the push is heard with the refs it moved", async () => {
    const { dir: work, sha } = await committed({ "README.md": "hello\n" }, "first");
    await git(work, "push", "-q", url("developer"), "main", "main:refs/tags/v1");
    expect(pushes).toEqual([
      {
        repo: "app",
        pusher: "developer",
        updates: expect.arrayContaining([
          { ref: "refs/heads/main", before: "0".repeat(40), after: sha },
          { ref: "refs/tags/v1", before: "0".repeat(40), after: sha },
        ]),
      },
    ]);
    const clone = mkdtempSync(join(tmpdir(), "trunkline-clone-"));
    await git(clone, "clone", "-q", url("viewer"), "copy");
    const { stdout: cloned } = await git(join(clone, "copy"), "rev-parse", "HEAD");
    expect(cloned.trim()).toBe(sha);
  });

  test("no token, a wrong token, or a viewer's push are refused", async () => {
    const { dir: work } = await committed({ x: "x\n" }, "x");
    await expect(git(work, "push", "-q", url("viewer"), "main:refs/heads/other")).rejects.toThrow(
      /403/,
    );
    await expect(git(work, "ls-remote", `${base}/git/app.git`)).rejects.toThrow();
    await expect(
      git(work, "ls-remote", `${base.replace("://", "://x:tl_forged@")}/git/app.git`),
    ).rejects.toThrow();
    expect((await fetch(`${base}/git/app.git/info/refs?service=git-upload-pack`)).status).toBe(401);
    expect(pushes.every((p) => p.pusher !== "viewer")).toBe(true);
  });

  test("an unknown repository is a 404", async () => {
    const auth = `Basic ${Buffer.from(`x:${tokens.viewer}`).toString("base64")}`;
    expect(
      (
        await fetch(`${base}/git/nope.git/info/refs?service=git-upload-pack`, {
          headers: { authorization: auth },
        })
      ).status,
    ).toBe(404);
  });
});
