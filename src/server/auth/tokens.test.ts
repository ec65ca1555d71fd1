import { expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "../../../test/helpers/databases.js";
import { allows, createToken, revokeToken, verifyToken } from "./tokens.js";

test("roles: each can do what the ones below it can", () => {
  expect(allows("admin", "viewer")).toBe(true);
  expect(allows("maintainer", "developer")).toBe(true);
  expect(allows("viewer", "developer")).toBe(false);
  expect(allows("developer", "maintainer")).toBe(false);
});

const postgres = await postgresAvailable();

describeOnEachDatabase("API tokens", postgres, (db) => {
  const available = db.available;

  test.skipIf(!available)(
    "a token is shown once, stored hashed, verified, and revoked",
    async () => {
      const { token, info } = await createToken(db.store.db, "ci bot", "developer", 1000);
      expect(token).toMatch(/^tl_[A-Za-z0-9_-]{43}$/);
      const row = await db.store.db.selectFrom("tokens").selectAll().executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain(token.slice(3));
      expect(await verifyToken(db.store.db, token, 2000)).toEqual(info);
      expect(
        (await db.store.db.selectFrom("tokens").select("last_used_at").executeTakeFirstOrThrow())
          .last_used_at,
      ).toBe(2000);
      // Uses are written at most once a minute.
      const lastUse = async () =>
        (await db.store.db.selectFrom("tokens").select("last_used_at").executeTakeFirstOrThrow())
          .last_used_at;
      await verifyToken(db.store.db, token, 30_000);
      expect(await lastUse()).toBe(2000);
      await verifyToken(db.store.db, token, 62_000);
      expect(await lastUse()).toBe(62_000);
      expect(await verifyToken(db.store.db, `${token}x`)).toBeUndefined();
      expect(await verifyToken(db.store.db, "not-a-token")).toBeUndefined();
      expect(await revokeToken(db.store.db, info.id)).toBe(true);
      expect(await verifyToken(db.store.db, token)).toBeUndefined();
    },
  );

  test.skipIf(!available)("bad roles and names are refused", async () => {
    await expect(createToken(db.store.db, "x", "root")).rejects.toThrow(
      "role 'root' must be one of admin, maintainer, developer, viewer",
    );
    await expect(createToken(db.store.db, " ", "viewer")).rejects.toThrow("a token needs a name");
  });
});
