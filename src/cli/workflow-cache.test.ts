import { readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, test } from "vitest";
import { tempDirs } from "../../test/helpers/temp-dirs.js";
import { readWorkflow } from "../workflow/read-workflow.js";
import { readWorkflowCached, workflowCacheDir } from "./workflow-cache.js";

const { make: tempDir } = tempDirs("wfcache");

const FIXTURES = join(import.meta.dirname, "..", "..", "test", "fixtures");
const WORKFLOW =
  "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.sha }}\n";

function fixtureFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".yml") && !e.parentPath.includes(".files"))
    .map((e) => join(e.parentPath, e.name));
}

test("what the cache gives back is what reading gives, for every fixture, broken ones too", async () => {
  const dir = tempDir();
  const files = fixtureFiles(FIXTURES);
  expect(files.length).toBeGreaterThan(40);
  for (const path of files) {
    const name = relative(FIXTURES, path);
    const content = readFileSync(path, "utf8");
    const read = await readWorkflow(name, content);
    expect(await readWorkflowCached(name, content, dir, "build-1")).toEqual(read);
    // The second time it comes from the cache.
    expect(await readWorkflowCached(name, content, dir, "build-1")).toEqual(read);
  }
  expect(readdirSync(dir)).toHaveLength(files.length);
});

test("an entry is read back by the build that wrote it, for the same name and content only", async () => {
  const dir = tempDir();
  const first = await readWorkflowCached("ci.yml", WORKFLOW, dir, "build-1");
  expect(first.workflow?.jobs.map((j) => j.id)).toEqual(["a"]);
  const [entry] = readdirSync(dir);
  // Proof that a hit does not parse: an entry changed on disk is what comes back.
  const changed = JSON.parse(readFileSync(join(dir, entry as string), "utf8"));
  changed.workflow.name = "from the cache";
  writeFileSync(join(dir, entry as string), JSON.stringify(changed));
  expect((await readWorkflowCached("ci.yml", WORKFLOW, dir, "build-1")).workflow?.name).toBe(
    "from the cache",
  );
  // Another build, another name or other content: parsed afresh.
  expect((await readWorkflowCached("ci.yml", WORKFLOW, dir, "build-2")).workflow?.name).toBe(
    "ci.yml",
  );
  expect((await readWorkflowCached("other.yml", WORKFLOW, dir, "build-1")).workflow?.name).toBe(
    "other.yml",
  );
  expect((await readWorkflowCached("ci.yml", `${WORKFLOW}\n`, dir, "build-1")).workflow?.name).toBe(
    "ci.yml",
  );
});

test("a damaged entry is read again and replaced; an unwritable cache is passed by", async () => {
  const dir = tempDir();
  await readWorkflowCached("ci.yml", WORKFLOW, dir, "b");
  const [entry] = readdirSync(dir);
  writeFileSync(join(dir, entry as string), "{ not json");
  expect((await readWorkflowCached("ci.yml", WORKFLOW, dir, "b")).workflow?.name).toBe("ci.yml");
  expect(JSON.parse(readFileSync(join(dir, entry as string), "utf8")).workflow.name).toBe("ci.yml");
  const file = join(tempDir(), "a-file");
  writeFileSync(file, "");
  expect(
    (await readWorkflowCached("ci.yml", WORKFLOW, join(file, "cache"), "b")).workflow?.name,
  ).toBe("ci.yml");
});

test("a result JSON cannot give back as it is (an infinite number) is not cached", async () => {
  const dir = tempDir();
  const infinite = WORKFLOW.replace(
    "runs-on: ubuntu-latest",
    "runs-on: ubuntu-latest\n    timeout-minutes: .inf",
  );
  const read = await readWorkflow("ci.yml", infinite);
  // The premise: the model holds a number JSON cannot write.
  expect(JSON.stringify(read, (_k, v) => (v === Number.POSITIVE_INFINITY ? "INF" : v))).toContain(
    '"INF"',
  );
  expect(await readWorkflowCached("ci.yml", infinite, dir, "b")).toEqual(read);
  expect(readdirSync(dir)).toEqual([]);
  expect(await readWorkflowCached("ci.yml", infinite, dir, "b")).toEqual(read);
});

test("an entry of the wrong shape is read afresh, not trusted", async () => {
  const dir = tempDir();
  await readWorkflowCached("ci.yml", WORKFLOW, dir, "b");
  const [entry] = readdirSync(dir);
  writeFileSync(join(dir, entry as string), JSON.stringify({ workflow: null, diagnostics: null }));
  const again = await readWorkflowCached("ci.yml", WORKFLOW, dir, "b");
  expect(again.workflow?.name).toBe("ci.yml");
  expect(Array.isArray(again.diagnostics)).toBe(true);
});

test("without a build identity (running from sources) nothing is cached", async () => {
  const dir = tempDir();
  await readWorkflowCached("ci.yml", WORKFLOW, dir, undefined);
  expect(readdirSync(dir)).toEqual([]);
});

test("the cache keeps its newest entries only", async () => {
  const dir = tempDir();
  for (let i = 0; i < 258; i++) writeFileSync(join(dir, `old-${i}.json`), "{}");
  for (let i = 0; i < 258; i++) utimesSync(join(dir, `old-${i}.json`), i, i);
  await readWorkflowCached("ci.yml", WORKFLOW, dir, "b");
  const left = readdirSync(dir);
  expect(left).toHaveLength(256);
  expect(left).not.toContain("old-0.json");
  expect(left).toContain("old-257.json");
  expect(left.filter((e) => !e.startsWith("old-"))).toHaveLength(1);
});

test("the cache lives under XDG_CACHE_HOME, else ~/.cache", () => {
  expect(workflowCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/trunkline/workflows");
  expect(workflowCacheDir({})).toMatch(/\.cache\/trunkline\/workflows$/);
});
