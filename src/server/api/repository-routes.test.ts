import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sqliteDatabase, type TestDatabase } from "../../../test/helpers/databases.js";
import { SecretBox } from "../../secrets/secret-box.js";
import { openStore, type Store } from "../../store/open-store.js";
import { buildApp } from "../app.js";
import { createToken } from "../auth/tokens.js";
import { createBareRepository } from "../git/bare-repository.js";

/** Branch names the body's character pattern lets through but git refuses. */
const refused = ["a..b", "x.lock", "-x", ".hidden", "a/.b", "a/", "/a", "a//b", "a.", "HEAD"];

describe("creating a repository", () => {
  let database: TestDatabase;
  let store: Store;
  let app: FastifyInstance;
  let dataDir: string;
  let admin: string;

  beforeAll(async () => {
    database = sqliteDatabase();
    store = await openStore(database.options);
    dataDir = mkdtempSync(join(tmpdir(), "trunkline-repos-"));
    app = await buildApp({ store, box: new SecretBox(randomBytes(32)), logger: false, dataDir });
    admin = (await createToken(store.db, "admin", "admin")).token;
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const create = (payload: Record<string, string>) =>
    app.inject({
      method: "POST",
      url: "/api/v1/repositories",
      headers: { authorization: `Bearer ${admin}` },
      payload,
    });
  const folderOf = (name: string) => join(dataDir, "repos", `${name}.git`);
  const rowOf = (name: string) =>
    store.db.selectFrom("repositories").select("id").where("name", "=", name).executeTakeFirst();

  test.each(refused)(
    "a default branch git refuses (%s) is a 400 naming the field, and nothing is created",
    async (branch) => {
      const name = `bad-${refused.indexOf(branch)}`;
      const answer = await create({ name, defaultBranch: branch });
      expect(answer.statusCode).toBe(400);
      expect(answer.json()).toEqual({
        code: "invalid_input",
        message: expect.stringContaining(`body.defaultBranch: '${branch}'`),
      });
      expect(existsSync(folderOf(name))).toBe(false);
      expect(await rowOf(name)).toBeUndefined();
    },
  );

  test("of several creations of one name at once, one makes it and the others are told it exists", async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => create({ name: "raced" })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
    expect(answers.find((a) => a.statusCode === 409)?.json()).toEqual({
      code: "conflict",
      message: "repository 'raced' exists",
    });
    expect(existsSync(folderOf("raced"))).toBe(true);
  });

  test("names that are not repository names are refused", async () => {
    for (const name of ["..", ".", ".git", "a/b", "../x"]) {
      const answer = await create({ name });
      expect(answer.statusCode, name).toBe(400);
      expect(answer.json()).toMatchObject({ code: "invalid_request" });
    }
    // Nothing was made for them, inside the repositories' folder or beside it.
    expect(readdirSync(dataDir).filter((entry) => entry.endsWith(".git"))).toEqual([]);
    expect(existsSync(folderOf(".."))).toBe(false);
    expect(existsSync(folderOf("."))).toBe(false);
  });

  test("a branch name git accepts makes the repository, on that branch", async () => {
    const answer = await create({ name: "shop", defaultBranch: "release/v1.2" });
    expect(answer.statusCode).toBe(201);
    expect(existsSync(join(folderOf("shop"), "HEAD"))).toBe(true);
    expect(await rowOf("shop")).toBeDefined();
  });

  test("a bare repository git cannot make leaves no folder behind", async () => {
    // Past the route's check, git itself refuses the name: the folder made for it is removed.
    await expect(createBareRepository(dataDir, "broken", "a..b")).rejects.toThrow(/a\.\.b/);
    expect(existsSync(join(dataDir, "repos", "broken.git"))).toBe(false);
  });
});
