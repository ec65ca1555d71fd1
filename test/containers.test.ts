import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  leftovers,
  prepareRegistries,
  removePulledTestImages,
  testEngine,
} from "./helpers/container-engine.js";
import { checkFixture, readFixtures } from "./helpers/self-checking.js";

/**
 * Self-checking workflows that need a container engine (Docker or Podman): job containers,
 * services, health checks, Docker actions, cleanup. Skipped, with a message saying how to
 * enable them, when no engine answers; `.ci/run` starts Podman so they always run in CI.
 */
const engine = await testEngine();
const registries = engine ? await prepareRegistries(engine.docker) : false;
/** `registry-*` fixtures push to and pull from the test registries. */
const fixtures = readFixtures(join(import.meta.dirname, "fixtures", "containers")).filter(
  (f) => registries || !f.name.startsWith("registry-"),
);

const cleanups: (() => void)[] = [];
afterAll(async () => {
  for (const c of cleanups) c();
  if (engine) await removePulledTestImages(engine.docker);
});

describe.skipIf(!engine)("containers: self-checking workflows", () => {
  test.each(fixtures.map((f) => [f.name, f] as const))(
    "%s",
    async (_name, fixture) => {
      cleanups.push(await checkFixture(fixture));
      // Whatever the job did, it left no container, network or volume behind.
      expect(await leftovers((engine as NonNullable<typeof engine>).docker)).toEqual([]);
    },
    120_000,
  );
});
