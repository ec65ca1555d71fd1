import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  describeOnEachDatabase,
  postgresAvailable,
  sqliteDatabase,
  type TestDatabase,
} from "../../../test/helpers/databases.js";
import { committed, git } from "../../../test/helpers/git.js";
import { basicAuth, rawRequest, receivePackBody } from "../../../test/helpers/git-wire.js";
import { startTestServer, type TestServer } from "../../../test/helpers/server.js";
import { SecretBox } from "../../secrets/secret-box.js";
import { openStore, type Store } from "../../store/open-store.js";
import { buildApp } from "../app.js";
import { createToken } from "../auth/tokens.js";
import type { RefUpdate } from "./push-report.js";

const ZERO = "0".repeat(40);
const PUSHES = 10;
// Its job is skipped, so each run ends without a runner and `idle()` sees every run through.
const WORKFLOW =
  "on: push\njobs:\n  build:\n    if: false\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n";
const branches = Array.from({ length: PUSHES }, (_, i) => `feature-${i}`);

describe("a push reports exactly the refs it updated, once", () => {
  let database: TestDatabase;
  let store: Store;
  let app: FastifyInstance;
  let dataDir: string;
  let url: (repo: string) => string;
  let base: string;
  let developer: string;
  const heard: { repo: string; updates: readonly RefUpdate[] }[] = [];
  const of = (repo: string) => heard.filter((h) => h.repo === repo).map((h) => h.updates);

  beforeAll(async () => {
    database = sqliteDatabase();
    store = await openStore(database.options);
    dataDir = mkdtempSync(join(tmpdir(), "trunkline-git-"));
    app = await buildApp({
      store,
      box: new SecretBox(randomBytes(32)),
      logger: false,
      dataDir,
      onPush: (repo, updates) => {
        heard.push({ repo, updates });
        return [`heard ${updates.length} ref(s) of ${repo}`];
      },
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    const admin = (await createToken(store.db, "admin", "admin")).token;
    developer = (await createToken(store.db, "developer", "developer")).token;
    url = (repo) => `${base.replace("://", `://x:${developer}@`)}/git/${repo}.git`;
    for (const name of ["concurrent", "pair", "partial"]) {
      const created = await app.inject({
        method: "POST",
        url: "/api/v1/repositories",
        headers: { authorization: `Bearer ${admin}` },
        payload: { name },
      });
      expect(created.statusCode).toBe(201);
    }
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test(`${PUSHES} concurrent pushes of new branches are heard once each, with their own ref`, async () => {
    const { dir, sha } = await committed({ "README.md": "hi\n" });
    await Promise.all(branches.map((b) => git(dir, "push", "-q", url("concurrent"), `main:${b}`)));
    expect(of("concurrent")).toHaveLength(PUSHES);
    expect(of("concurrent").flat()).toEqual(
      expect.arrayContaining(
        branches.map((b) => ({ ref: `refs/heads/${b}`, before: ZERO, after: sha })),
      ),
    );
    expect(of("concurrent").every((updates) => updates.length === 1)).toBe(true);
  });

  test("a push of two refs is heard once, with both", async () => {
    const { dir, sha } = await committed({ "README.md": "two\n" });
    await git(dir, "push", "-q", url("pair"), "main", "main:refs/tags/v1");
    expect(of("pair")).toEqual([
      expect.arrayContaining([
        { ref: "refs/heads/main", before: ZERO, after: sha },
        { ref: "refs/tags/v1", before: ZERO, after: sha },
      ]),
    ]);
    expect(of("pair")[0]).toHaveLength(2);
  });

  test("a ref git rejects is not reported; the ones it applied in the same push are", async () => {
    const { dir, sha: first } = await committed({ "README.md": "one\n" });
    await git(dir, "push", "-q", url("partial"), "main");
    await git(dir, "checkout", "-q", "--orphan", "unrelated");
    await git(dir, "commit", "-q", "-m", "unrelated");
    const unrelated = (await git(dir, "rev-parse", "HEAD")).stdout.trim();
    // Sent as git would, but claiming main does not exist yet: git refuses that update alone.
    const answer = await rawRequest(base, "POST", "/git/partial.git/git-receive-pack", {
      headers: {
        authorization: basicAuth(developer),
        "content-type": "application/x-git-receive-pack-request",
      },
      body: await receivePackBody(
        [
          { before: ZERO, after: unrelated, ref: "refs/heads/main" },
          { before: ZERO, after: unrelated, ref: "refs/heads/side" },
        ],
        dir,
        [unrelated],
      ),
    });
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toMatch(/ng refs\/heads\/main/);
    expect(answer.body.toString()).toMatch(/ok refs\/heads\/side/);
    expect(of("partial")).toEqual([
      [{ ref: "refs/heads/main", before: ZERO, after: first }],
      [{ ref: "refs/heads/side", before: ZERO, after: unrelated }],
    ]);
  });
});

const postgres = await postgresAvailable();

describeOnEachDatabase("concurrent pushes start their runs once", postgres, (context) => {
  let server: TestServer;

  beforeAll(async () => {
    if (!context.available) return;
    server = await startTestServer(context.store, { runnerCapacity: 0 });
    const created = await server.api("admin", "POST", "/api/v1/repositories", { name: "app" });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    if (context.available) await server.close();
  });

  test.runIf(context.available)(
    `${PUSHES} concurrent pushes of ${PUSHES} new branches start ${PUSHES} runs`,
    async () => {
      const { dir, sha } = await committed({ ".github/workflows/ci.yml": WORKFLOW }, "ci");
      await Promise.all(
        branches.map((b) => git(dir, "push", "-q", server.gitUrl("app"), `main:${b}`)),
      );
      await server.service.idle();
      const runs = await context.store.db.selectFrom("runs").select(["ref", "sha"]).execute();
      expect(server.errors).toEqual([]);
      expect(runs.map((r) => r.ref).sort()).toEqual(branches.map((b) => `refs/heads/${b}`).sort());
      expect(runs.every((r) => r.sha === sha)).toBe(true);
    },
  );
});
