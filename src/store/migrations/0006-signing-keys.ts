import type { Kysely } from "kysely";
import type { StoreDialect } from "../open-store.js";

/**
 * The keys the server signs jobs' OIDC tokens with, shared by every server process on the
 * database so the JWKS they publish agree: the private key sealed with the master key.
 */
export function signingKeys(dialect: StoreDialect) {
  const time = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("signing_keys")
        .addColumn("kid", "text", (c) => c.primaryKey())
        .addColumn("algorithm", "text", (c) => c.notNull())
        .addColumn("public_jwk", "text", (c) => c.notNull())
        .addColumn("private_key", "text", (c) => c.notNull())
        .addColumn("created_at", time, (c) => c.notNull())
        .execute();
    },
  };
}
