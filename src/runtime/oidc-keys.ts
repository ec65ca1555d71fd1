import { randomUUID } from "node:crypto";
import { exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK } from "jose";
import type { Kysely } from "kysely";
import type { SecretBox } from "../secrets/secret-box.js";
import type { Database } from "../store/database.js";

/** The algorithm OIDC tokens are signed with: what every cloud's trust configuration takes. */
export const OIDC_ALGORITHM = "RS256";

/** A key that signs OIDC tokens, and its public half as published. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: Awaited<ReturnType<typeof importPKCS8>>;
  readonly publicJwk: JWK;
}

const aad = (kid: string) => `signing-key:${kid}`;

/**
 * The server's OIDC signing keys, from the store: the oldest signs, all are published (a key
 * another process made in the same instant is published too, and every process signs with
 * the same oldest one). Makes the first key when there is none. The only writer of
 * `signing_keys`.
 */
export async function loadSigningKeys(db: Kysely<Database>, box: SecretBox): Promise<SigningKey[]> {
  let rows = await db
    .selectFrom("signing_keys")
    .selectAll()
    .orderBy("created_at")
    .orderBy("kid")
    .execute();
  if (rows.length === 0) {
    const { privateKey, publicKey } = await generateKeyPair(OIDC_ALGORITHM, {
      modulusLength: 2048,
      extractable: true,
    });
    const kid = randomUUID();
    await db
      .insertInto("signing_keys")
      .values({
        kid,
        algorithm: OIDC_ALGORITHM,
        public_jwk: JSON.stringify({
          ...(await exportJWK(publicKey)),
          kid,
          alg: OIDC_ALGORITHM,
          use: "sig",
        }),
        private_key: box.seal(await exportPKCS8(privateKey), aad(kid)),
        created_at: Date.now(),
      })
      .execute();
    rows = await db
      .selectFrom("signing_keys")
      .selectAll()
      .orderBy("created_at")
      .orderBy("kid")
      .execute();
  }
  return Promise.all(
    rows.map(async (row) => ({
      kid: row.kid,
      privateKey: await importPKCS8(box.open(row.private_key, aad(row.kid)), row.algorithm),
      publicJwk: JSON.parse(row.public_jwk) as JWK,
    })),
  );
}

/** Re-seals every signing key from the old master key to the new one; returns how many. */
export async function resealSigningKeys(
  db: Kysely<Database>,
  from: SecretBox,
  to: SecretBox,
): Promise<number> {
  const rows = await db.selectFrom("signing_keys").select(["kid", "private_key"]).execute();
  let count = 0;
  for (const row of rows) {
    if (row.private_key.split(":")[1] === to.keyId) continue;
    const pem = from.open(row.private_key, aad(row.kid));
    await db
      .updateTable("signing_keys")
      .set({ private_key: to.seal(pem, aad(row.kid)) })
      .where("kid", "=", row.kid)
      .execute();
    count++;
  }
  return count;
}
