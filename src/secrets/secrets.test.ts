import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../test/helpers/databases.js";
import { loadMasterKey, SecretBox } from "./secret-box.js";
import {
  deleteSecret,
  listSecrets,
  rotateSecrets,
  secretsForJob,
  setSecret,
} from "./secret-store.js";

describe("SecretBox (AES-256-GCM)", () => {
  const box = new SecretBox(randomBytes(32));

  test("seals and opens; the same value seals differently every time", () => {
    const a = box.seal("hunter2", "repository/r1//TOKEN");
    const b = box.seal("hunter2", "repository/r1//TOKEN");
    expect(a).not.toBe(b);
    expect(a).toMatch(new RegExp(`^v1:${box.keyId}:`));
    expect(a).not.toContain("hunter2");
    expect(box.open(a, "repository/r1//TOKEN")).toBe("hunter2");
  });

  test("a value moved to another secret, tampered with, or sealed with another key does not open", () => {
    const sealed = box.seal("hunter2", "repository/r1//TOKEN");
    expect(() => box.open(sealed, "repository/r2//TOKEN")).toThrow(/does not open/);
    const bytes = Buffer.from(sealed.split(":")[2] as string, "base64");
    bytes[14] = (bytes[14] as number) ^ 1;
    expect(() =>
      box.open(`v1:${box.keyId}:${bytes.toString("base64")}`, "repository/r1//TOKEN"),
    ).toThrow(/does not open/);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, "repository/r1//TOKEN")).toThrow(
      /sealed with key/,
    );
  });

  test("the master key comes from the environment or a key file made with mode 0600", () => {
    const key = randomBytes(32);
    expect(
      loadMasterKey({ env: { TRUNKLINE_MASTER_KEY: key.toString("hex") }, file: "/nonexistent" }),
    ).toEqual(key);
    expect(
      loadMasterKey({
        env: { TRUNKLINE_MASTER_KEY: key.toString("base64") },
        file: "/nonexistent",
      }),
    ).toEqual(key);
    expect(() =>
      loadMasterKey({ env: { TRUNKLINE_MASTER_KEY: "short" }, file: "/nonexistent" }),
    ).toThrow(/TRUNKLINE_MASTER_KEY: expected 32 bytes/);
    const file = join(mkdtempSync(join(tmpdir(), "trunkline-key-")), "keys", "master.key");
    const made = loadMasterKey({ env: {}, file });
    expect(made).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadMasterKey({ env: {}, file })).toEqual(made);
    expect(readFileSync(file, "utf8").trim()).toBe(made.toString("hex"));
  });
});

const postgres = await postgresAvailable();

describeOnEachDatabase("secrets in the store", postgres, (db) => {
  const available = db.available;
  const box = new SecretBox(randomBytes(32));

  test.skipIf(!available)(
    "scopes override each other; lists show names only; forks get nothing",
    async () => {
      const repo = { kind: "repository", repositoryId: "r1" } as const;
      const prod = { kind: "environment", repositoryId: "r1", environment: "production" } as const;
      await setSecret(db.store.db, box, { kind: "organization" }, "TOKEN", "org-token");
      await setSecret(db.store.db, box, { kind: "organization" }, "SLACK", "org-slack");
      await setSecret(db.store.db, box, repo, "TOKEN", "repo-token");
      await setSecret(db.store.db, box, prod, "TOKEN", "prod-token");
      await setSecret(db.store.db, box, repo, "DB", "first");
      await setSecret(db.store.db, box, repo, "DB", "second");
      expect(
        await secretsForJob(db.store.db, box, { repositoryId: "r1", fromFork: false }),
      ).toEqual({
        TOKEN: "repo-token",
        SLACK: "org-slack",
        DB: "second",
      });
      expect(
        await secretsForJob(db.store.db, box, {
          repositoryId: "r1",
          environment: "production",
          fromFork: false,
        }),
      ).toMatchObject({ TOKEN: "prod-token" });
      expect(await secretsForJob(db.store.db, box, { repositoryId: "r1", fromFork: true })).toEqual(
        {},
      );
      const listed = await listSecrets(db.store.db, repo);
      expect(listed.map((s) => s.name)).toEqual(["DB", "TOKEN"]);
      expect(JSON.stringify(listed)).not.toMatch(/repo-token|second/);
      expect(await deleteSecret(db.store.db, repo, "DB")).toBe(true);
      expect(await deleteSecret(db.store.db, repo, "DB")).toBe(false);
    },
  );

  test.skipIf(!available)("names are checked", async () => {
    await expect(
      setSecret(db.store.db, box, { kind: "organization" }, "1BAD", "x"),
    ).rejects.toThrow(/must be letters/);
    await expect(
      setSecret(db.store.db, box, { kind: "organization" }, "GITHUB_TOKEN", "x"),
    ).rejects.toThrow(/may not start with GITHUB_/);
  });

  test.skipIf(!available)("rotation re-encrypts every secret under the new key", async () => {
    const next = new SecretBox(randomBytes(32));
    const count = await rotateSecrets(db.store.db, box, next);
    expect(count).toBeGreaterThan(0);
    expect(await rotateSecrets(db.store.db, box, next)).toBe(0);
    const rows = await db.store.db.selectFrom("secrets").select("ciphertext").execute();
    expect(rows.every((r) => r.ciphertext.startsWith(`v1:${next.keyId}:`))).toBe(true);
    expect(
      (await secretsForJob(db.store.db, next, { repositoryId: "r1", fromFork: false })).TOKEN,
    ).toBe("repo-token");
  });
});
