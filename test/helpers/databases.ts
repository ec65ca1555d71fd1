import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, test } from "vitest";
import { openStore, type Store } from "../../src/store/open-store.js";
import { missing } from "./components.js";

/** Where the tests' Postgres listens (trust auth); override with TRUNKLINE_TEST_POSTGRES. */
export const POSTGRES_ADMIN_URL =
  process.env.TRUNKLINE_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A throwaway database for one test file: the options to open a store on it, and its cleanup. */
export interface TestDatabase {
  readonly name: "sqlite" | "postgres";
  readonly options: { url?: string; dataDir?: string };
  drop(): Promise<void>;
}

/** Whether Postgres answers; checked once. */
let postgresUp: Promise<boolean> | undefined;
export function postgresAvailable(): Promise<boolean> {
  postgresUp ??= (async () => {
    const client = new pg.Client({
      connectionString: POSTGRES_ADMIN_URL,
      connectionTimeoutMillis: 2000,
    });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      return missing(
        "postgres",
        `nothing answers at ${POSTGRES_ADMIN_URL}. Start Postgres there (trust auth) or set TRUNKLINE_TEST_POSTGRES to an admin URL.`,
      );
    }
  })();
  return postgresUp;
}

/** A fresh SQLite data directory. */
export function sqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-store-"));
  return {
    name: "sqlite",
    options: { dataDir: dir },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A fresh Postgres database, created for the caller and dropped by `drop`. */
export async function postgresDatabase(): Promise<TestDatabase> {
  const name = `trunkline_test_${randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name: "postgres",
    options: { url: url.toString() },
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * `test` for one dialect only, as `testOn(context, "postgres")(name, fn)`: on the other
 * dialect it registers nothing, since the test does not apply there (it is not a skipped
 * test); on its own it runs when that database is available.
 */
export function testOn(
  context: DatabaseContext,
  dialect: DatabaseContext["dialect"],
): ReturnType<typeof test.runIf> {
  return context.dialect === dialect
    ? test.runIf(context.available)
    : ((() => undefined) as unknown as ReturnType<typeof test.runIf>);
}

/** What a test on each database sees: the open store (set once `beforeAll` ran) and which database it is. */
export interface DatabaseContext {
  readonly dialect: "sqlite" | "postgres";
  readonly available: boolean;
  store: Store;
}

/**
 * Declares the same tests against SQLite and against a real Postgres, each on a fresh
 * database opened before and dropped after them. `postgresUp` is
 * `await postgresAvailable()`; without Postgres its tests are skipped, and say so.
 */
export function describeOnEachDatabase(
  title: string,
  postgresUp: boolean,
  body: (context: DatabaseContext) => void,
): void {
  describe.each([
    ["sqlite", true],
    ["postgres", postgresUp],
  ] as const)(`${title} (%s)`, (dialect, available) => {
    const context = { dialect, available } as DatabaseContext;
    let database: TestDatabase | undefined;
    beforeAll(async () => {
      if (!available) return;
      database = dialect === "sqlite" ? sqliteDatabase() : await postgresDatabase();
      context.store = await openStore(database.options);
    });
    afterAll(async () => {
      if (!database) return;
      await context.store.close();
      await database.drop();
    });
    body(context);
  });
}
