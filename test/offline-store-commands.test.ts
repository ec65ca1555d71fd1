import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { openStore } from "../src/store/open-store.js";
import { runCli } from "./helpers/capture.js";
import { postgresAvailable, postgresDatabase, sqliteDatabase } from "./helpers/databases.js";

const HOW_TO_POINT =
  "pass --data-dir with the directory 'trunkline serve' uses (default $XDG_DATA_HOME/trunkline, else ~/.local/share/trunkline), or --database with its postgres:// URL";
const KEY = "ab".repeat(32);

const dirs: string[] = [];
function emptyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-offline-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const saved = { xdg: process.env.XDG_DATA_HOME, key: process.env.TRUNKLINE_MASTER_KEY };
afterEach(() => {
  for (const [name, value] of [
    ["XDG_DATA_HOME", saved.xdg],
    ["TRUNKLINE_MASTER_KEY", saved.key],
  ] as const)
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
});

const postgresUp = await postgresAvailable();

describe("the commands that work on a server's store offline never make one", () => {
  test("token create without a store at the data directory fails, naming the path and the flags", async () => {
    const xdg = emptyDir();
    process.env.XDG_DATA_HOME = xdg;
    const file = join(xdg, "trunkline", "trunkline.db");
    expect(await runCli(["token", "create", "--name", "ci"])).toEqual({
      code: 1,
      stdout: "",
      stderr: `trunkline: no Trunkline store at ${file}: ${HOW_TO_POINT}`,
    });
    const dataDir = emptyDir();
    expect((await runCli(["token", "create", "--name", "ci", "--data-dir", dataDir])).stderr).toBe(
      `trunkline: no Trunkline store at ${join(dataDir, "trunkline.db")}: ${HOW_TO_POINT}`,
    );
    expect(existsSync(join(xdg, "trunkline"))).toBe(false);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  test("token create on a server's store makes the token", async () => {
    const database = sqliteDatabase();
    await (await openStore(database.options)).close();
    const dataDir = database.options.dataDir as string;
    const made = await runCli(["token", "create", "--name", "ci", "--data-dir", dataDir]);
    await database.drop();
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^tl_/);
  });

  test("secrets rotate-key with its key in the environment and no store fails the same way", async () => {
    process.env.TRUNKLINE_MASTER_KEY = KEY;
    const dataDir = emptyDir();
    expect(await runCli(["secrets", "rotate-key", "--data-dir", dataDir])).toEqual({
      code: 1,
      stdout: "",
      stderr: `trunkline: no Trunkline store at ${join(dataDir, "trunkline.db")}: ${HOW_TO_POINT}`,
    });
    expect(readdirSync(dataDir)).toEqual([]);
  });

  test.runIf(postgresUp)(
    "a Postgres database without a store is refused, and left empty",
    async () => {
      const database = await postgresDatabase();
      const url = database.options.url as string;
      try {
        for (const args of [
          ["token", "create", "--name", "ci", "--database", url],
          ["secrets", "rotate-key", "--database", url],
        ]) {
          process.env.TRUNKLINE_MASTER_KEY = KEY;
          expect(await runCli(args)).toEqual({
            code: 1,
            stdout: "",
            stderr: `trunkline: the database of --database has no Trunkline store (no schema): ${HOW_TO_POINT}`,
          });
        }
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        const { rows } = await client.query(
          "select count(*)::int as n from information_schema.tables where table_schema = 'public'",
        );
        await client.end();
        expect(rows).toEqual([{ n: 0 }]);
        await (await openStore({ url })).close();
        const made = await runCli(["token", "create", "--name", "ci", "--database", url]);
        expect(made.code).toBe(0);
      } finally {
        await database.drop();
      }
    },
  );
});
