import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { describe, expect, test } from "vitest";
import { OWNER_LABEL, TRUNKLINE_LABEL } from "../src/executors/container/labels.js";
import { removeStaleResources } from "../src/executors/container/stale-resources.js";
import { BUSYBOX_IMAGE, testEngine } from "./helpers/container-engine.js";

const engine = await testEngine();

describe.skipIf(!engine)("what a dead Trunkline process left in the engine", () => {
  test("is removed; what a live process or another machine owns is not", async () => {
    const docker = (engine as NonNullable<typeof engine>).docker;
    const dead = spawnSync("true").pid as number;
    const make = async (name: string, owner: string) => {
      const labels = { [TRUNKLINE_LABEL]: "stale-test", [OWNER_LABEL]: owner };
      await docker.createNetwork({ Name: name, Labels: labels });
      await docker.createContainer({ name, Image: BUSYBOX_IMAGE, Labels: labels });
    };
    const suffix = Math.floor(Math.random() * 1e9);
    await make(`stale_dead_${suffix}`, `${hostname()}:${dead}`);
    await make(`stale_live_${suffix}`, `${hostname()}:${process.pid}`);
    await make(`stale_other_${suffix}`, `another-machine:${dead}`);
    try {
      const removed = await removeStaleResources(docker);
      expect(removed.sort()).toEqual([
        `container /stale_dead_${suffix}`,
        `network stale_dead_${suffix}`,
      ]);
    } finally {
      for (const kind of ["live", "other", "dead"]) {
        const name = `stale_${kind}_${suffix}`;
        await docker
          .getContainer(name)
          .remove({ force: true })
          .catch(() => undefined);
        await docker
          .getNetwork(name)
          .remove()
          .catch(() => undefined);
      }
    }
  });
});
