import { dirname, join, resolve } from "node:path";
import SQLite from "better-sqlite3";
import {
  Kysely,
  type Migration,
  Migrator,
  PostgresDialect,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteStatement,
} from "kysely";
import pg from "pg";
import { ErrorCode, InputError, TrunklineError } from "../common/errors.js";
import type { Database } from "./database.js";
import { initialSchema } from "./migrations/0001-initial.js";
import { remotesRerunsSchedules } from "./migrations/0002-remotes-reruns-schedules.js";
import { queueSchema } from "./migrations/0003-queue.js";
import { appliedBatches } from "./migrations/0004-applied-batches.js";
import { sharedServers } from "./migrations/0005-shared-servers.js";
import { signingKeys } from "./migrations/0006-signing-keys.js";
import { approvals } from "./migrations/0007-approvals.js";
import { createPrivateFile, keepDataDirPrivate } from "./private-files.js";

/** Which database a store uses. */
export type StoreDialect = "sqlite" | "postgres";

/** An open store: the typed query builder, its dialect, and how to close it. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  /** The Postgres URL, for what needs a connection of its own (LISTEN); absent for SQLite. */
  readonly url?: string;
  close(): Promise<void>;
}

/** Where the store lives: a Postgres URL, or a data directory for the embedded SQLite file. */
export interface StoreOptions {
  /** `postgres://...`; when absent, SQLite in `dataDir`. */
  readonly url?: string;
  /** @default `./.trunkline-data` */
  readonly dataDir?: string;
}

// Postgres returns bigint (int8) as strings by default; Trunkline's bigints are epoch
// milliseconds and ids, far below 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v));

/**
 * Opens the store and brings its schema up to date. SQLite runs in WAL mode with foreign
 * keys on; Postgres takes any `postgres://` URL. Throws a {@link TrunklineError} that says
 * which database could not be opened, and why.
 */
export async function openStore(options: StoreOptions = {}): Promise<Store> {
  const url = options.url;
  let store: Store;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle connection the database ends (a restart, a dropped database) is thrown away by
    // the pool and replaced on the next query; it must not end the process.
    pool.on("error", () => undefined);
    // A connection lost while a statement is on it (a network cut, a database going down)
    // fails that statement, which the caller sees and may try again; the client's `error`
    // event then has no pool listener (the pool listens only to idle clients) and must not
    // end the process. The pool drops such a client when it is released.
    pool.on("connect", (client) => client.on("error", () => undefined));
    try {
      const client = await pool.connect();
      client.release();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new TrunklineError(
        ErrorCode.NotFound,
        `cannot connect to ${redact(url)}: ${(err as Error).message}`,
      );
    }
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    store = { db, dialect: "postgres", url, close: () => db.destroy() };
  } else if (url) {
    throw new InputError(
      `--database ${redact(url)}: expected a postgres:// URL (without one, SQLite in the data directory is used)`,
    );
  } else {
    const file = join(resolve(options.dataDir ?? ".trunkline-data"), "trunkline.db");
    keepDataDirPrivate(dirname(file));
    createPrivateFile(file);
    const sqlite = new SQLite(file);
    sqlite.pragma("journal_mode = WAL");
    // In WAL mode NORMAL is safe from corruption and skips an fsync per commit; a power cut
    // may lose the last commits, which a CI server can afford (runs are re-run).
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma("busy_timeout = 5000");
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: cachingStatements(sqlite) }),
    });
    store = { db, dialect: "sqlite", close: () => db.destroy() };
  }
  await migrate(store);
  return store;
}

/** How many prepared statements a SQLite store keeps for reuse. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * The SQLite database with its prepared statements kept for reuse: Kysely prepares each
 * query it runs, and compiling the same SQL again is a measurable share of a busy server's
 * time. Statements are cached by their SQL text; the cache starts over when full.
 */
function cachingStatements(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text) {
      let statement = cache.get(text);
      if (!statement) {
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear();
        statement = sqlite.prepare(text);
        cache.set(text, statement);
      }
      return statement as unknown as SqliteStatement;
    },
  };
}

/** Every migration, in order; a new schema change is a new entry, never an edit. */
function migrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    "0001-initial": initialSchema(dialect),
    "0002-remotes-reruns-schedules": remotesRerunsSchedules(dialect),
    "0003-queue": queueSchema(dialect),
    "0004-applied-batches": appliedBatches(),
    "0005-shared-servers": sharedServers(dialect),
    "0006-signing-keys": signingKeys(dialect),
    "0007-approvals": approvals(dialect),
  };
}

/** Brings the schema to the latest migration; safe to call on every start. */
export async function migrate(store: Store): Promise<void> {
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrations(store.dialect) },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new TrunklineError(
      ErrorCode.Internal,
      `store migration ${failed} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** A database URL with its password hidden, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
