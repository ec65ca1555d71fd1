import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { InputError } from "../common/errors.js";
import type { Database } from "../store/database.js";
import type { SecretBox } from "./secret-box.js";

/** Where a secret applies: the whole organisation, one repository, or one environment of one. */
export type SecretScope =
  | { readonly kind: "organization" }
  | { readonly kind: "repository"; readonly repositoryId: string }
  | { readonly kind: "environment"; readonly repositoryId: string; readonly environment: string };

/** What may be listed of a secret: never its value. */
export interface SecretInfo {
  readonly name: string;
  readonly scope: SecretScope["kind"];
  readonly updatedAt: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function columns(scope: SecretScope) {
  return {
    scope: scope.kind,
    repository_id: scope.kind === "organization" ? "" : scope.repositoryId,
    environment: scope.kind === "environment" ? scope.environment : "",
  };
}

/** The binding of a sealed value to its place, so it cannot be moved to another secret. */
function aad(scope: SecretScope, name: string): string {
  const c = columns(scope);
  return `${c.scope}/${c.repository_id}/${c.environment}/${name}`;
}

/** Creates or replaces a secret. Names follow GitHub's rules; `GITHUB_` is reserved. */
export async function setSecret(
  db: Kysely<Database>,
  box: SecretBox,
  scope: SecretScope,
  name: string,
  value: string,
  now = Date.now(),
): Promise<void> {
  if (!NAME.test(name))
    throw new InputError(
      `secret name '${name}' must be letters, digits and '_', not starting with a digit`,
    );
  if (name.toUpperCase().startsWith("GITHUB_"))
    throw new InputError(`secret name '${name}' may not start with GITHUB_`);
  // An empty secret is almost always a mistake (an empty pipe or file), and masks nothing.
  if (value === "") throw new InputError(`secret '${name}': the value is empty`);
  const key = columns(scope);
  const ciphertext = box.seal(value, aad(scope, name));
  const existing = await db
    .selectFrom("secrets")
    .select("id")
    .where("scope", "=", key.scope)
    .where("repository_id", "=", key.repository_id)
    .where("environment", "=", key.environment)
    .where("name", "=", name)
    .executeTakeFirst();
  if (existing) {
    await db
      .updateTable("secrets")
      .set({ ciphertext, updated_at: now })
      .where("id", "=", existing.id)
      .execute();
  } else {
    await db
      .insertInto("secrets")
      .values({ id: randomUUID(), ...key, name, ciphertext, created_at: now, updated_at: now })
      .execute();
  }
}

/** The names of a scope's secrets, sorted; values are never listed. */
export async function listSecrets(db: Kysely<Database>, scope: SecretScope): Promise<SecretInfo[]> {
  const key = columns(scope);
  const rows = await db
    .selectFrom("secrets")
    .select(["name", "scope", "updated_at"])
    .where("scope", "=", key.scope)
    .where("repository_id", "=", key.repository_id)
    .where("environment", "=", key.environment)
    .orderBy("name")
    .execute();
  return rows.map((r) => ({
    name: r.name,
    scope: r.scope as SecretScope["kind"],
    updatedAt: Number(r.updated_at),
  }));
}

/** One secret's value, decrypted; undefined when the scope has none of that name. */
export async function readSecret(
  db: Kysely<Database>,
  box: SecretBox,
  scope: SecretScope,
  name: string,
): Promise<string | undefined> {
  const key = columns(scope);
  const row = await db
    .selectFrom("secrets")
    .select("ciphertext")
    .where("scope", "=", key.scope)
    .where("repository_id", "=", key.repository_id)
    .where("environment", "=", key.environment)
    .where("name", "=", name)
    .executeTakeFirst();
  return row ? box.open(row.ciphertext, aad(scope, name)) : undefined;
}

/** Deletes a secret; false when there was none. */
export async function deleteSecret(
  db: Kysely<Database>,
  scope: SecretScope,
  name: string,
): Promise<boolean> {
  const key = columns(scope);
  const result = await db
    .deleteFrom("secrets")
    .where("scope", "=", key.scope)
    .where("repository_id", "=", key.repository_id)
    .where("environment", "=", key.environment)
    .where("name", "=", name)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * The secrets a job may see, decrypted: organisation, then repository, then its environment's,
 * each level overriding the one before, as on GitHub. A run for a fork's pull request gets none.
 */
export async function secretsForJob(
  db: Kysely<Database>,
  box: SecretBox,
  job: { readonly repositoryId: string; readonly environment?: string; readonly fromFork: boolean },
): Promise<Record<string, string>> {
  if (job.fromFork) return {};
  const scopes: SecretScope[] = [
    { kind: "organization" },
    { kind: "repository", repositoryId: job.repositoryId },
  ];
  if (job.environment)
    scopes.push({
      kind: "environment",
      repositoryId: job.repositoryId,
      environment: job.environment,
    });
  const out: Record<string, string> = {};
  for (const scope of scopes) {
    const key = columns(scope);
    const rows = await db
      .selectFrom("secrets")
      .select(["name", "ciphertext"])
      .where("scope", "=", key.scope)
      .where("repository_id", "=", key.repository_id)
      .where("environment", "=", key.environment)
      .execute();
    for (const row of rows) out[row.name] = box.open(row.ciphertext, aad(scope, row.name));
  }
  return out;
}

/**
 * The secrets of every environment of a repository, decrypted, by environment name: the
 * engine gives each job only those of the environment it deploys to. A run for a fork's pull
 * request gets none.
 */
export async function environmentSecrets(
  db: Kysely<Database>,
  box: SecretBox,
  job: { readonly repositoryId: string; readonly fromFork: boolean },
): Promise<Record<string, Record<string, string>>> {
  if (job.fromFork) return {};
  const rows = await db
    .selectFrom("secrets")
    .select(["environment", "name", "ciphertext"])
    .where("scope", "=", "environment")
    .where("repository_id", "=", job.repositoryId)
    .execute();
  const out: Record<string, Record<string, string>> = {};
  for (const row of rows) {
    const scope = {
      kind: "environment",
      repositoryId: job.repositoryId,
      environment: row.environment,
    } as const;
    const values = out[row.environment] ?? {};
    values[row.name] = box.open(row.ciphertext, aad(scope, row.name));
    out[row.environment] = values;
  }
  return out;
}

/** Re-encrypts every secret from the old key to the new one, in one transaction; returns how many. */
export async function rotateSecrets(
  db: Kysely<Database>,
  from: SecretBox,
  to: SecretBox,
): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const rows = await tx.selectFrom("secrets").selectAll().execute();
    let count = 0;
    for (const row of rows) {
      const scope: SecretScope =
        row.scope === "organization"
          ? { kind: "organization" }
          : row.scope === "repository"
            ? { kind: "repository", repositoryId: row.repository_id }
            : {
                kind: "environment",
                repositoryId: row.repository_id,
                environment: row.environment,
              };
      if (row.ciphertext.split(":")[1] === to.keyId) continue;
      const value = from.open(row.ciphertext, aad(scope, row.name));
      await tx
        .updateTable("secrets")
        .set({ ciphertext: to.seal(value, aad(scope, row.name)) })
        .where("id", "=", row.id)
        .execute();
      count++;
    }
    return count;
  });
}
