import { execFileSync } from "node:child_process";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { x as extractTar } from "tar";
import { afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { BuiltinTestKit, writeFiles } from "../src/runner/actions/builtin/builtin-test-kit.js";
import { SETUP_NODE } from "../src/runner/actions/builtin/setup-node.js";
import { missing } from "./helpers/components.js";
import { downloaded } from "./helpers/node-dist.mjs";
import { tempDirs } from "./helpers/temp-dirs.js";

// setup-node's `cache: yarn` and `cache: pnpm` with the real package managers (yarn 1 and
// pnpm 9 from the npm registry): the cache folder each names itself is restored under
// setup-node's key and saved after the job.

const [yarn, pnpm] = await Promise.all([downloaded("yarn", 1), downloaded("pnpm", 9)]);
const available =
  (yarn !== undefined && pnpm !== undefined) ||
  missing("node-dist", "yarn@1 or pnpm@9 could not be fetched with `npm pack`");

const temp = tempDirs("package-managers");
let bin: string;
let kit: BuiltinTestKit;
beforeAll(async () => {
  if (!available) return;
  bin = temp.make();
  for (const [name, tgz, script] of [
    ["yarn", yarn?.file, "bin/yarn.js"],
    ["pnpm", pnpm?.file, "bin/pnpm.cjs"],
  ] as const) {
    const dir = join(bin, `${name}-package`);
    await mkdir(dir, { recursive: true });
    await extractTar({ file: tgz ?? "", cwd: dir, strip: 1 });
    await writeFile(
      join(bin, name),
      `#!/bin/sh\nexec "${process.execPath}" "${join(dir, script)}" "$@"\n`,
    );
    await chmod(join(bin, name), 0o755);
  }
});

beforeEach(async () => {
  kit = await BuiltinTestKit.create();
});
afterEach(async () => {
  await kit.cleanup();
});

describe.runIf(available)("setup-node cache: with yarn and pnpm", () => {
  test.each([
    ["yarn", "yarn.lock", "YARN_CACHE_FOLDER", "cache dir"],
    ["pnpm", "pnpm-lock.yaml", "npm_config_store_dir", "store path --silent"],
  ])(
    "cache: %s restores the folder it names under setup-node's key, saved after the job",
    async (manager, lockFile, variable, args) => {
      await writeFiles(kit.workspace, { [lockFile]: `# ${manager} lock\n` });
      const env = { PATH: `${bin}:/usr/bin:/bin`, [variable]: join(kit.root, `${manager}-cache`) };
      // The folder as the package manager names it (pnpm: a versioned store inside).
      const folder = execFileSync(join(bin, manager), args.split(" "), {
        env: { ...process.env, ...env },
        cwd: kit.workspace,
        encoding: "utf8",
      }).trim();
      expect(folder.startsWith(join(kit.root, `${manager}-cache`))).toBe(true);
      await writeFiles(folder, { "package/marker": "cached" });
      const first = await kit.run(SETUP_NODE, { cache: manager }, env);
      expect(first, kit.notes().join("\n")).toMatchObject({
        ok: true,
        outputs: { "cache-hit": "false" },
      });
      expect(await kit.runPosts()).toEqual([{ ok: true }]);
      await rm(folder, { recursive: true });
      const second = await kit.run(SETUP_NODE, { cache: manager }, env);
      expect(second).toMatchObject({ ok: true, outputs: { "cache-hit": "true" } });
      expect(await readFile(join(folder, "package/marker"), "utf8")).toBe("cached");
    },
    60_000,
  );
});
