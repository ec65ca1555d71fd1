import { existsSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { NotFoundError } from "../common/errors.js";
import { openStore, type Store } from "../store/open-store.js";
import { dataDirOf } from "./data-dir.js";

/** Where to tell the user to look when the store is not where the command looked. */
const HOW_TO_POINT =
  "pass --data-dir with the directory 'trunkline serve' uses (default $XDG_DATA_HOME/trunkline, else ~/.local/share/trunkline), or --database with its postgres:// URL";

/**
 * Opens the store a server made, for the commands that work on it offline (`token create`,
 * `secrets rotate-key`). Unlike `serve`, never creates one: a store made here would be one no
 * server uses, so a token or key written to it would silently do nothing.
 */
export async function openExistingStore(options: {
  dataDir?: string;
  database?: string;
}): Promise<Store> {
  const url = options.database;
  if (!url) {
    const dataDir = dataDirOf(options);
    const file = join(dataDir, "trunkline.db");
    if (!existsSync(file))
      throw new NotFoundError(`no Trunkline store at ${file}: ${HOW_TO_POINT}`);
    return openStore({ dataDir });
  }
  // A URL that is not Postgres's, or a database that does not answer: openStore says why.
  if (/^postgres(ql)?:\/\//.test(url) && (await hasNoStore(url)))
    throw new NotFoundError(
      `the database of --database has no Trunkline store (no schema): ${HOW_TO_POINT}`,
    );
  return openStore({ url });
}

/** Whether the database answers and holds no Trunkline schema; false when it cannot be asked. */
async function hasNoStore(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  try {
    await client.connect();
    // Kysely's migration table: present in every store since its first migration.
    const { rows } = await client.query<{ present: boolean }>(
      "select to_regclass('kysely_migration') is not null as present",
    );
    return rows[0]?.present === false;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
