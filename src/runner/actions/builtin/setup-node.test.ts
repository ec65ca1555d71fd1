import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { BuiltinTestKit, writeFiles } from "./builtin-test-kit.js";
import { SETUP_NODE, versionFromFile } from "./setup-node.js";

let kit: BuiltinTestKit;
/** A directory whose `node` claims to be v18.19.0 (Hydrogen). */
let fakeBin: string;
let pathFile: string;
const own = process.version;
const ownMajor = own.slice(1).split(".")[0] as string;

beforeEach(async () => {
  kit = await BuiltinTestKit.create();
  fakeBin = join(kit.root, "fake-bin");
  await mkdir(fakeBin);
  await writeFile(join(fakeBin, "node"), "#!/bin/sh\necho 'v18.19.0 Hydrogen'\n");
  await chmod(join(fakeBin, "node"), 0o755);
  pathFile = join(kit.root, "github_path");
  await writeFile(pathFile, "");
});
afterEach(async () => {
  await kit.cleanup();
});

/** Runs setup-node with the fake node first on PATH (or only Trunkline's own Node). */
function setup(inputs: Record<string, string>, withFake = true) {
  const PATH = withFake ? `${fakeBin}:/usr/bin:/bin` : "/nonexistent";
  return kit.run(SETUP_NODE, inputs, { PATH, GITHUB_PATH: pathFile });
}

describe("actions/setup-node", () => {
  test("the node on PATH is used when it satisfies node-version", async () => {
    const result = await setup({ "node-version": "18" });
    expect(result).toEqual({
      ok: true,
      outputs: { "node-version": "v18.19.0", "cache-hit": "false" },
    });
    expect(kit.notes()).toContain(`Using Node.js v18.19.0 at ${join(fakeBin, "node")} (PATH)`);
    expect(await readFile(pathFile, "utf8")).toBe("");
  });

  test("lts/<codename> is checked against the binary's LTS name", async () => {
    expect((await setup({ "node-version": "lts/hydrogen" })).outputs["node-version"]).toBe(
      "v18.19.0",
    );
  });

  test("Trunkline's own Node is used, and put on PATH, when the PATH one does not fit", async () => {
    const result = await setup({ "node-version": `>=${ownMajor}` });
    expect(result).toEqual({ ok: true, outputs: { "node-version": own, "cache-hit": "false" } });
    expect(await readFile(pathFile, "utf8")).toBe(`${dirname(process.execPath)}\n`);
  });

  test("without node on PATH, Trunkline's own Node is judged", async () => {
    const result = await setup({ "node-version": `${ownMajor}.x` }, false);
    expect(result.outputs["node-version"]).toBe(own);
  });

  test("no fitting Node fails, naming what was asked and what there is", async () => {
    const result = await setup({ "node-version": "12" });
    expect(result.ok).toBe(false);
    expect(result.message).toContain("Node.js 12 was requested");
    expect(result.message).toContain(`v18.19.0 (${join(fakeBin, "node")})`);
    expect(result.message).toContain(`${own} (${process.execPath})`);
  });

  test("without a version the node on PATH is reported", async () => {
    const result = await setup({});
    expect(result.outputs["node-version"]).toBe("v18.19.0");
  });

  test.each([
    [".nvmrc", "v18\n"],
    [".node-version", "18.19.x\n"],
    [".tool-versions", "python 3.12.0\nnodejs 18.19.0\n"],
    ["package.json", JSON.stringify({ engines: { node: ">=16 <19" } })],
    ["package.json", JSON.stringify({ volta: { node: "18.19.0" }, engines: { node: ">=22" } })],
  ])("node-version-file %s (%j) is read", async (file, content) => {
    await writeFiles(kit.workspace, { [file]: content });
    const result = await setup({ "node-version-file": file });
    expect(result).toMatchObject({ ok: true, outputs: { "node-version": "v18.19.0" } });
  });

  test("a version file naming a version that is not here fails", async () => {
    await writeFiles(kit.workspace, { ".nvmrc": "14\n" });
    const result = await setup({ "node-version-file": ".nvmrc" });
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining("Node.js 14 was") });
  });

  test("a missing version file fails", async () => {
    const result = await setup({ "node-version-file": ".nvmrc" });
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining("does not exist") });
  });

  test("a package.json without a version warns and falls back", async () => {
    await writeFiles(kit.workspace, { "package.json": "{}" });
    const result = await setup({ "node-version-file": "package.json" });
    expect(result.ok).toBe(true);
    expect(kit.annotations("warning")[0]).toContain("Could not determine node version");
  });

  test("node-version wins over node-version-file, with a warning", async () => {
    await writeFiles(kit.workspace, { ".nvmrc": "14\n" });
    const result = await setup({ "node-version": "18", "node-version-file": ".nvmrc" });
    expect(result.ok).toBe(true);
    expect(kit.annotations("warning")[0]).toContain("only node-version will be used");
  });

  test("cache: npm restores ~/.npm under setup-node's key, and saves it after the job", async () => {
    await writeFiles(kit.workspace, { "package-lock.json": '{"lockfileVersion":3}' });
    const npmCache = join(kit.home, ".npm");
    await writeFiles(npmCache, { "_cacache/index-v5/entry": "cached" });
    const first = await setup({ "node-version": "18", cache: "npm" });
    expect(first).toMatchObject({ ok: true, outputs: { "cache-hit": "false" } });
    expect(await kit.runPosts()).toEqual([{ ok: true }]);
    await rm(npmCache, { recursive: true });
    const second = await setup({ "node-version": "18", cache: "npm" });
    expect(second).toMatchObject({ ok: true, outputs: { "cache-hit": "true" } });
    expect(await readFile(join(npmCache, "_cacache/index-v5/entry"), "utf8")).toBe("cached");
    // Another lock file is another key.
    await writeFiles(kit.workspace, { "package-lock.json": '{"lockfileVersion":2}' });
    const third = await setup({ "node-version": "18", cache: "npm" });
    expect(third.outputs["cache-hit"]).toBe("false");
  });

  test("cache needs a lock file, and a package manager setup-node knows", async () => {
    const none = await setup({ "node-version": "18", cache: "pnpm" });
    expect(none).toMatchObject({
      ok: false,
      message: expect.stringMatching(
        /^Dependencies lock file is not found in .*\. Supported file patterns: pnpm-lock.yaml$/,
      ),
    });
    const bad = await setup({ "node-version": "18", cache: "bun" });
    expect(bad).toMatchObject({ ok: false, message: "Caching for 'bun' is not supported" });
  });

  test("versions that nvm, fnm and Volta installed are found, newest first, and put on PATH", async () => {
    const managed = async (dir: string, version: string) => {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "node"), `#!/bin/sh\necho ${version}\n`);
      await chmod(join(dir, "node"), 0o755);
    };
    await managed(join(kit.home, ".nvm", "versions", "node", "v16.20.2", "bin"), "v16.20.2");
    await managed(join(kit.home, ".fnm", "node-versions", "v16.19.0", "installation", "bin"), "x");
    await managed(join(kit.home, ".volta", "tools", "image", "node", "14.21.3", "bin"), "x");
    const result = await setup({ "node-version": "16" });
    expect(result).toMatchObject({ ok: true, outputs: { "node-version": "v16.20.2" } });
    const bin = join(kit.home, ".nvm", "versions", "node", "v16.20.2", "bin");
    expect(kit.notes()).toContain(`Using Node.js v16.20.2 at ${join(bin, "node")} (nvm)`);
    expect(await readFile(pathFile, "utf8")).toBe(`${bin}\n`);
    expect((await setup({ "node-version": "14" })).outputs["node-version"]).toBe("v14.21.3");
    expect((await setup({ "node-version": "16.19" })).outputs["node-version"]).toBe("v16.19.0");
  });

  test("registry-url writes an .npmrc that reads NODE_AUTH_TOKEN, for later steps", async () => {
    const envFile = join(kit.root, "github_env");
    await writeFile(envFile, "");
    const temp = join(kit.root, "runner-temp");
    await mkdir(temp);
    const result = await kit.run(
      SETUP_NODE,
      { "node-version": "18", "registry-url": "https://npm.example.com", scope: "acme" },
      {
        PATH: `${fakeBin}:/usr/bin:/bin`,
        GITHUB_PATH: pathFile,
        GITHUB_ENV: envFile,
        RUNNER_TEMP: temp,
      },
    );
    expect(result.ok).toBe(true);
    expect(await readFile(join(temp, ".npmrc"), "utf8")).toBe(
      "//npm.example.com/:_authToken=${NODE_AUTH_TOKEN}\n@acme:registry=https://npm.example.com/\n",
    );
    expect(await readFile(envFile, "utf8")).toBe(
      `NPM_CONFIG_USERCONFIG=${join(temp, ".npmrc")}\nNODE_AUTH_TOKEN=XXXXX-XXXXX-XXXXX-XXXXX\n`,
    );
  });

  test("a version it cannot judge fails with a message", async () => {
    const result = await setup({ "node-version": "20-nightly" });
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining("20-nightly") });
  });
});

describe("versionFromFile", () => {
  test.each([
    ["v20.1.0\n", "20.1.0"],
    ["lts/iron\n", "lts/iron"],
    ["# pinned\n20\n", "20"],
    ["node 20\n", "20"],
    ['{"engines":{"node":"^20"}}', "^20"],
    ['{"name":"x"}', undefined],
    ["", undefined],
  ])("%j -> %j", (text, expected) => {
    expect(versionFromFile(text)).toBe(expected);
  });
});
