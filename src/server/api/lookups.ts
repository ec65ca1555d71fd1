import type { Kysely } from "kysely";
import type { Database } from "../../store/database.js";
import { found } from "../not-found.js";

/** A repository's id by name, or a 404 naming it. */
export async function repositoryIdOf(db: Kysely<Database>, name: string): Promise<string> {
  const row = await db
    .selectFrom("repositories")
    .select("id")
    .where("name", "=", name)
    .executeTakeFirst();
  return found(row, `repository '${name}'`).id;
}
