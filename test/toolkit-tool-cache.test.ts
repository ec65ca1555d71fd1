import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { jsonTexts, runCli } from "./helpers/capture.js";
import { tempDirs } from "./helpers/temp-dirs.js";
import { tempRepo } from "./helpers/temp-repo.js";

// The machine's tool cache as setup actions built on @actions/tool-cache (setup-go,
// setup-java, setup-python's own) use it: a node action written here finds a tool there,
// else caches one it "downloaded" in GitHub's <tool>/<version>/<arch> layout with its
// .complete marker, and the next run, a separate `trunkline run`, finds it.

const TOOL_CACHE_LIB = join(
  import.meta.dirname,
  "..",
  "node_modules",
  "@actions",
  "tool-cache",
  "lib",
  "tool-cache.js",
);

const SETUP_MAIN = `import { mkdirSync, mkdtempSync, writeFileSync, chmodSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
const tc = await import(pathToFileURL(${JSON.stringify(TOOL_CACHE_LIB)}).href);
const version = process.env.INPUT_VERSION;
let dir = tc.find("greeter", version);
if (dir) {
  console.log("found greeter " + version + " at " + relative(process.env.RUNNER_TOOL_CACHE, dir));
} else {
  const unpacked = mkdtempSync(join(process.env.RUNNER_TEMP, "greeter-"));
  mkdirSync(join(unpacked, "bin"));
  writeFileSync(join(unpacked, "bin", "greeter"), "#!/bin/sh\\necho hello from greeter " + version + "\\n");
  chmodSync(join(unpacked, "bin", "greeter"), 0o755);
  dir = await tc.cacheDir(unpacked, "greeter", version);
  console.log("cached greeter " + version + " at " + relative(process.env.RUNNER_TOOL_CACHE, dir));
}
console.log("versions here: " + tc.findAllVersions("greeter").join(", "));
appendFileSync(process.env.GITHUB_PATH, join(dir, "bin") + "\\n");
`;

const temp = tempDirs("tool-cache");
const repo = tempRepo(
  {
    ".github/workflows/ci.yml": [
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: ./setup-greeter",
      "        with: { version: 1.2.3 }",
      "      - run: greeter",
      '      - run: echo "tool cache $RUNNER_TOOL_CACHE"',
      "",
    ].join("\n"),
    "setup-greeter/action.yml":
      "name: g\ninputs:\n  version: {required: true}\nruns:\n  using: node20\n  main: main.mjs\n",
    "setup-greeter/main.mjs": SETUP_MAIN,
  },
  { git: true },
);
afterAll(() => repo.cleanup());

describe("@actions/tool-cache against the machine's tool cache", () => {
  test("a tool cached in one run is found by the next, in GitHub's layout", async () => {
    process.env.XDG_STATE_HOME = temp.make();
    const toolCache = join(process.env.XDG_STATE_HOME, "trunkline", "tool-cache");
    const run = async () => {
      const result = await runCli(["--cwd", repo.dir, "run", "--json"]);
      const texts = jsonTexts(result);
      expect(result.code, `${texts.join("\n")}\n${result.stderr}`).toBe(0);
      return texts.filter((t) => /^(found|cached|versions|hello|tool cache)/.test(t));
    };
    expect(await run()).toEqual([
      "cached greeter 1.2.3 at greeter/1.2.3/x64",
      "versions here: 1.2.3",
      "hello from greeter 1.2.3",
      `tool cache ${toolCache}`,
    ]);
    expect(existsSync(join(toolCache, "greeter", "1.2.3", "x64.complete"))).toBe(true);
    expect(await run()).toEqual([
      "found greeter 1.2.3 at greeter/1.2.3/x64",
      "versions here: 1.2.3",
      "hello from greeter 1.2.3",
      `tool cache ${toolCache}`,
    ]);
  });
});
