import { join } from "node:path";
import { afterAll, describe, test } from "vitest";
import { checkFixture, readFixtures } from "./helpers/self-checking.js";

/** Self-checking workflows (see `helpers/self-checking.ts` for their headers). */
const fixtures = readFixtures(join(import.meta.dirname, "fixtures", "run"));

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

describe("trunkline run: self-checking workflows", () => {
  test.each(fixtures.map((f) => [f.name, f] as const))("%s", async (_name, fixture) => {
    cleanups.push(await checkFixture(fixture));
  });
});
