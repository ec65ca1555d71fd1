import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";
import { tempRepo } from "./helpers/temp-repo.js";

// An unmodified action built on the toolkit: a node action written here that uses
// @actions/cache from npm (the library every caching action bundles) saves in one local run
// and restores in the next, through Trunkline's cache service.

const ACTION_MAIN = `import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const cache = await import(pathToFileURL(process.env.TOOLKIT_CACHE).href);
if (!cache.isFeatureAvailable()) throw new Error("no cache service");
// The key comes from the test, through the host environment a local run passes on.
const key = process.env.KEY;
mkdirSync("cached", { recursive: true });
const hit = await cache.restoreCache(["cached"], key, ["deps-"]);
const content = existsSync("cached/data.txt") ? readFileSync("cached/data.txt", "utf8").trim() : "-";
console.log("restored " + (hit ?? "nothing") + ": " + content);
if (hit !== key) {
  writeFileSync("cached/data.txt", "saved by " + key + "\\n");
  console.log("saved " + (await cache.saveCache(["cached"], key)));
}
`;

const repo = tempRepo(
  {
    ".github/workflows/ci.yml": [
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: ./toolkit-cache",
      "      - run: test -z \"$ACTIONS_RUNTIME_TOKEN\" && echo 'run steps see no runtime token'",
      "",
    ].join("\n"),
    "toolkit-cache/action.yml":
      "name: t\ninputs:\n  key: {required: true}\nruns:\n  using: node20\n  main: main.mjs\n",
    "toolkit-cache/main.mjs": ACTION_MAIN,
  },
  { git: true },
);
afterAll(() => repo.cleanup());

async function run(key: string): Promise<string[]> {
  process.env.TOOLKIT_CACHE = join(
    import.meta.dirname,
    "..",
    "node_modules",
    "@actions",
    "cache",
    "lib",
    "cache.js",
  );
  process.env.KEY = key;
  const result = await runCli(["--cwd", repo.dir, "run", "--json"]);
  const texts = result.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => (JSON.parse(l) as { text?: string }).text ?? "");
  expect(result.code, texts.join("\n")).toBe(0);
  return texts.filter((t) => /^(restored|saved|run steps)/.test(t));
}

describe("@actions/cache against Trunkline's cache service", () => {
  test("saves in one run, restores in the next: exact keys and restore keys", async () => {
    expect(await run("deps-1")).toEqual([
      "restored nothing: -",
      expect.stringMatching(/^saved \d+$/),
      "run steps see no runtime token",
    ]);
    expect(await run("deps-1")).toEqual([
      "restored deps-1: saved by deps-1",
      "run steps see no runtime token",
    ]);
    // Another key: the newest entry its restore key prefixes comes back, and it saves its own.
    expect(await run("deps-2")).toEqual([
      "restored deps-1: saved by deps-1",
      expect.stringMatching(/^saved \d+$/),
      "run steps see no runtime token",
    ]);
  });
});
