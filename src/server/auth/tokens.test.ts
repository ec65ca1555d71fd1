import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  postgresAvailable,
  postgresDatabase,
  sqliteDatabase,
  type TestDatabase,
} from "../../../test/helpers/databases.js";
import { openStore, type Store } from "../../store/open-store.js";
import { allows, createToken, revokeToken, verifyToken } from "./tokens.js";

test("roles: each can do what the ones below it can", () => {
  expect(allows("admin", "viewer")).toBe(true);
  expect(allows("maintainer", "developer")).toBe(true);
  expect(allows("viewer", "developer")).toBe(false);
  expect(allows("developer", "maintainer")).toBe(false);
});

const postgres = await postgresAvailable();

describe.each([
  ["sqlite", true],
  ["postgres", postgres],
] as const)("API tokens on %s", (dialect, available) => {
  let database: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    if (!available) return;
    database = dialect === "sqlite" ? sqliteDatabase() : await postgresDatabase();
    store = await openStore(database.options);
  });
  afterAll(async () => {
    if (!available) return;
    await store.close();
    await database.drop();
  });

  test.skipIf(!available)(
    "a token is shown once, stored hashed, verified, and revoked",
    async () => {
      const { token, info } = await createToken(store.db, "ci bot", "developer", 1000);
      expect(token).toMatch(/^tl_[A-Za-z0-9_-]{43}$/);
      const row = await store.db.selectFrom("tokens").selectAll().executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain(token.slice(3));
      expect(await verifyToken(store.db, token, 2000)).toEqual(info);
      expect(
        (await store.db.selectFrom("tokens").select("last_used_at").executeTakeFirstOrThrow())
          .last_used_at,
      ).toBe(2000);
      expect(await verifyToken(store.db, `${token}x`)).toBeUndefined();
      expect(await verifyToken(store.db, "not-a-token")).toBeUndefined();
      expect(await revokeToken(store.db, info.id)).toBe(true);
      expect(await verifyToken(store.db, token)).toBeUndefined();
    },
  );

  test.skipIf(!available)("bad roles and names are refused", async () => {
    await expect(createToken(store.db, "x", "root")).rejects.toThrow(
      "role 'root' must be one of admin, maintainer, developer, viewer",
    );
    await expect(createToken(store.db, " ", "viewer")).rejects.toThrow("a token needs a name");
  });
});
