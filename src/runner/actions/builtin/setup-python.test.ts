import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { PythonInstalls } from "../../../toolcache/python-installs.js";
import { BuiltinTestKit } from "./builtin-test-kit.js";
import { SETUP_PYTHON } from "./setup-python.js";

let kit: BuiltinTestKit;
let toolCache: string;
let files: { path: string; env: string };

beforeEach(async () => {
  kit = await BuiltinTestKit.create();
  toolCache = join(kit.root, "tool-cache");
  files = { path: join(kit.root, "github_path"), env: join(kit.root, "github_env") };
  await writeFile(files.path, "");
  await writeFile(files.env, "");
  // Two complete Pythons and one half-made.
  for (const [version, complete] of [
    ["3.11.2", true],
    ["3.11.9", true],
    ["3.12.0", false],
  ] as const) {
    await mkdir(join(toolCache, "Python", version, "x64", "bin"), { recursive: true });
    if (complete) await writeFile(join(toolCache, "Python", version, "x64.complete"), "");
  }
});
afterEach(async () => {
  await kit.cleanup();
});

function setup(inputs: Record<string, string>, manifests: string[] = []) {
  kit.env = { ...kit.env, pythons: new PythonInstalls(toolCache, manifests) };
  return kit.run(SETUP_PYTHON, inputs, { GITHUB_PATH: files.path, GITHUB_ENV: files.env });
}

describe("actions/setup-python", () => {
  test("a version file outside the workspace, or a link leading out, is never read or echoed", async () => {
    const secret = join(kit.root, "master.key");
    await writeFile(secret, "0123456789abcdef-SECRET\n");
    for (const input of [secret, "../master.key"]) {
      const result = await setup({ "python-version-file": input });
      expect(result.ok).toBe(false);
      expect(result.message).not.toContain("SECRET");
    }
    await symlink(secret, join(kit.workspace, ".python-version"));
    const linked = await setup({});
    expect(JSON.stringify([linked, kit.notes()])).not.toContain("SECRET");
    // Inside the workspace, what is not a version is refused without being repeated.
    await writeFile(join(kit.workspace, "v.txt"), "token=SECRET\n");
    const junk = await setup({ "python-version-file": "v.txt" });
    expect(junk.message).toMatch(/^No Python version found in .*v\.txt$/);
  });

  test("the newest complete Python in the tool cache that fits is used, and put on PATH", async () => {
    const result = await setup({ "python-version": "3.11" });
    const dir = join(toolCache, "Python", "3.11.9", "x64");
    expect(result).toEqual({
      ok: true,
      outputs: {
        "python-version": "3.11.9",
        "python-path": join(dir, "bin", "python"),
        "cache-hit": "false",
      },
    });
    expect(await readFile(files.path, "utf8")).toBe(`${join(dir, "bin")}\n`);
    expect(await readFile(files.env, "utf8")).toContain(`pythonLocation=${dir}\n`);
  });

  test("a half-made install is never used; with no source the error says what is here", async () => {
    const result = await setup({ "python-version": "3.12" });
    expect(result.ok).toBe(false);
    expect(result.message).toBe(
      `The version '3.12' with architecture 'x64' was not found for this operating system: no Python source is configured (--python-source); the tool cache (${toolCache}) has 3.11.2, 3.11.9`,
    );
  });

  test("python-version-file, and .python-version by default", async () => {
    await writeFile(join(kit.workspace, ".python-version"), "# pinned\n3.11.2\n");
    const fromDefault = await setup({});
    expect(fromDefault.outputs["python-version"]).toBe("3.11.2");
    await writeFile(join(kit.workspace, "v.txt"), "3.11\n");
    expect((await setup({ "python-version-file": "v.txt" })).outputs["python-version"]).toBe(
      "3.11.9",
    );
    const missing = await setup({ "python-version-file": "nope.txt" });
    expect(missing.message).toMatch(
      /^The specified python version file at: .*nope\.txt doesn't exist \(in the workspace\)\.$/,
    );
  });

  test("no version at all uses the Python on PATH, with GitHub's warning; bad inputs are refused", async () => {
    expect(await setup({})).toEqual({ ok: true, outputs: { "cache-hit": "false" } });
    expect(kit.annotations("warning")).toContain(
      "The `python-version` input is not set.  The version of Python currently in `PATH` will be used.",
    );
    expect((await setup({ "python-version": "3.11", cache: "poetry" })).message).toBe(
      "Caching for 'poetry' is not supported",
    );
    expect((await setup({ "python-version": "pypy3.9" })).message).toBe(
      "'pypy3.9': PyPy and GraalPy are not served here",
    );
  });

  test("an unreachable source is named; a cached fit stands in when check-latest cannot look", async () => {
    const result = await setup({ "python-version": "3.11", "check-latest": "true" }, [
      "http://127.0.0.1:1/versions-manifest.json",
    ]);
    expect(result.outputs["python-version"]).toBe("3.11.9");
    expect(kit.annotations("warning")[0]).toMatch(
      /^the newest Python could not be looked up \(http:\/\/127\.0\.0\.1:1\/versions-manifest\.json: .*\): using 3\.11\.9$/,
    );
  });
});
