import { execFileSync } from "node:child_process";
import {
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { tempDirs } from "../../../test/helpers/temp-dirs.js";
import { HostExecutor } from "./host-executor.js";

// A host executor with `reuse`: its directory serves job after job, readied on release.

const { make: tempDir } = tempDirs("host-executor");

test("a reused job directory is readied for the next job: temp emptied, runner files blanked", async () => {
  const root = join(tempDir(), "slot");
  const executor = new HostExecutor({ root, reuse: true });
  await executor.prepare();
  writeFileSync(join(executor.paths.temp, "left"), "x");
  mkdirSync(join(executor.paths.temp, "folder"));
  writeFileSync(join(executor.paths.files, "step-script.sh"), "echo $SECRET_VALUE_123");
  mkdirSync(join(executor.paths.files, "made-by-a-step"));
  writeFileSync(join(executor.paths.workspace, "kept"), "for the next copy to judge");
  await executor.release();
  expect(readdirSync(executor.paths.temp)).toEqual([]);
  expect(readdirSync(executor.paths.files)).toEqual(["step-script.sh"]);
  expect(readFileSync(join(executor.paths.files, "step-script.sh"), "utf8")).not.toContain(
    "SECRET",
  );
  expect(readFileSync(join(executor.paths.workspace, "kept"), "utf8")).toBe(
    "for the next copy to judge",
  );

  const once = new HostExecutor({ root });
  await once.prepare();
  await once.release();
  expect(() => statSync(root)).toThrow(/ENOENT/);
});

test("a reused directory whose temp, runner folder or self a job made a link is not emptied through it", async () => {
  const base = tempDir();
  const precious = join(base, "precious");
  mkdirSync(precious);
  writeFileSync(join(precious, "file"), "keep me");

  const root = join(base, "slot");
  const executor = new HostExecutor({ root, reuse: true });
  await executor.prepare();
  rmSync(executor.paths.temp, { recursive: true });
  symlinkSync(precious, executor.paths.temp);
  rmSync(executor.paths.files, { recursive: true });
  symlinkSync(precious, executor.paths.files);
  await executor.release();
  expect(readFileSync(join(precious, "file"), "utf8")).toBe("keep me");
  expect(() => lstatSync(executor.paths.temp)).toThrow(/ENOENT/);
  expect(() => lstatSync(executor.paths.files)).toThrow(/ENOENT/);

  const moved = join(base, "moved");
  const again = new HostExecutor({ root, reuse: true });
  await again.prepare();
  renameSync(root, moved);
  symlinkSync(precious, root);
  await again.release();
  expect(readFileSync(join(precious, "file"), "utf8")).toBe("keep me");
  expect(() => lstatSync(root)).toThrow(/ENOENT/);
});

test("scrub: links, FIFOs and what a job left beside its folders are removed; the rest is kept", async () => {
  const base = tempDir();
  const outside = join(base, "outside");
  writeFileSync(outside, "keep me");
  const root = join(base, "slot");
  const executor = new HostExecutor({ root, reuse: true });
  await executor.prepare();
  linkSync(outside, join(executor.paths.files, "step-script.sh"));
  execFileSync("mkfifo", [join(executor.paths.files, "set_env")]);
  writeFileSync(join(root, "beside"), "left by the job");
  await executor.release();
  expect(executor.reusable()).toBe(true);
  expect(readFileSync(outside, "utf8")).toBe("keep me");
  expect(readdirSync(root).sort()).toEqual(["runner", "temp", "tool-cache", "workspace"]);
  expect(readdirSync(executor.paths.files)).toEqual([]);
});

test("a directory that cannot be readied is not offered again", async (context) => {
  const root = join(tempDir(), "slot");
  const executor = new HostExecutor({ root, reuse: true });
  await executor.prepare();
  const stuck = join(executor.paths.temp, "immutable");
  writeFileSync(stuck, "x");
  try {
    execFileSync("chattr", ["+i", stuck], { stdio: "ignore" });
  } catch {
    context.skip("chattr +i is not available here (it needs root on ext4 or similar)");
  }
  try {
    await executor.release();
    expect(executor.reusable()).toBe(false);
  } finally {
    execFileSync("chattr", ["-i", stuck]);
  }
});
