import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { InputError } from "../../common/errors.js";
import { ROLES, type Role } from "../../common/roles.js";
import type { Database } from "../../store/database.js";

export { allows, ROLES, type Role } from "../../common/roles.js";

/** A token as the server knows it: never its secret part. */
export interface TokenInfo {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
}

const PREFIX = "tl_";

/** The stored form of a token: its SHA-256. Tokens are random, so no salt or slow hash is needed. */
function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Creates a token and returns its secret once; the store keeps only its hash. */
export async function createToken(
  db: Kysely<Database>,
  name: string,
  role: string,
  now = Date.now(),
): Promise<{ token: string; info: TokenInfo }> {
  if (!(ROLES as readonly string[]).includes(role))
    throw new InputError(`role '${role}' must be one of ${ROLES.join(", ")}`);
  if (name.trim() === "") throw new InputError("a token needs a name");
  const token = `${PREFIX}${randomBytes(32).toString("base64url")}`;
  const info: TokenInfo = { id: randomUUID(), name, role: role as Role };
  await db
    .insertInto("tokens")
    .values({
      id: info.id,
      name,
      role,
      hash: hashToken(token),
      created_at: now,
      last_used_at: null,
    })
    .execute();
  return { token, info };
}

/** When each token's use was last written: at most once a minute, so reads stay reads. */
const lastUseWritten = new Map<string, number>();
const LAST_USE_EVERY_MS = 60_000;

/**
 * The token's holder, or undefined for an unknown token (looked up on every call, so a
 * revoked token stops at once); records when it was last used, to the minute.
 */
export async function verifyToken(
  db: Kysely<Database>,
  token: string,
  now = Date.now(),
): Promise<TokenInfo | undefined> {
  if (!token.startsWith(PREFIX)) return undefined;
  const row = await db
    .selectFrom("tokens")
    .select(["id", "name", "role"])
    .where("hash", "=", hashToken(token))
    .executeTakeFirst();
  if (!row) return undefined;
  const written = lastUseWritten.get(row.id);
  if (written === undefined || now - written >= LAST_USE_EVERY_MS) {
    lastUseWritten.set(row.id, now);
    await db.updateTable("tokens").set({ last_used_at: now }).where("id", "=", row.id).execute();
  }
  return { id: row.id, name: row.name, role: row.role as Role };
}

/** Revokes a token; false when there was none. */
export async function revokeToken(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom("tokens").where("id", "=", id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
