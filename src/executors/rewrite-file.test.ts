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
import { tempDirs } from "../../test/helpers/temp-dirs.js";
import { HostExecutor } from "./host/host-executor.js";
import { blankFileSync, rewriteFileSync } from "./rewrite-file.js";

const { make: tempDir } = tempDirs("rewrite");

test("rewriteFileSync writes a new file, or over an old one in place, cut to the new length", () => {
  const dir = tempDir();
  const path = join(dir, "f");
  rewriteFileSync(path, "a longer first content");
  expect(readFileSync(path, "utf8")).toBe("a longer first content");
  const ino = statSync(path).ino;
  rewriteFileSync(path, "short");
  expect(readFileSync(path, "utf8")).toBe("short");
  rewriteFileSync(path, Buffer.from("bytes, and longer than before"));
  expect(readFileSync(path, "utf8")).toBe("bytes, and longer than before");
  expect(statSync(path).ino).toBe(ino);
  rewriteFileSync(path, "");
  expect(statSync(path).size).toBe(0);
});

test("a link (symbolic or hard), a FIFO or a folder is replaced by a new file, never written through", () => {
  const dir = tempDir();
  const target = join(dir, "target");
  writeFileSync(target, "keep me");
  symlinkSync(target, join(dir, "symlink"));
  linkSync(target, join(dir, "hardlink"));
  execFileSync("mkfifo", [join(dir, "fifo")]);
  mkdirSync(join(dir, "folder"));
  writeFileSync(join(dir, "folder", "inside"), "x");
  for (const name of ["symlink", "hardlink", "fifo", "folder"]) {
    // A FIFO would block a plain open for ever: this returns.
    rewriteFileSync(join(dir, name), `new ${name}`);
    expect(lstatSync(join(dir, name)).isFile()).toBe(true);
    expect(readFileSync(join(dir, name), "utf8")).toBe(`new ${name}`);
  }
  expect(readFileSync(target, "utf8")).toBe("keep me");
  expect(statSync(target).nlink).toBe(1);

  symlinkSync(target, join(dir, "symlink2"));
  linkSync(target, join(dir, "hardlink2"));
  execFileSync("mkfifo", [join(dir, "fifo2")]);
  for (const name of ["symlink2", "hardlink2", "fifo2"]) {
    blankFileSync(join(dir, name));
    expect(() => lstatSync(join(dir, name))).toThrow(/ENOENT/);
  }
  expect(readFileSync(target, "utf8")).toBe("keep me");
});

test("blankFileSync leaves nothing of the content: zeros in place, or empty when large", () => {
  const dir = tempDir();
  const small = join(dir, "small");
  writeFileSync(small, "secret value");
  blankFileSync(small);
  expect(readFileSync(small)).toEqual(Buffer.alloc(12));
  const large = join(dir, "large");
  writeFileSync(large, Buffer.alloc(200 * 1024, 0x41));
  blankFileSync(large);
  expect(statSync(large).size).toBe(0);
});

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
  expect(new HostExecutor({ root }).reusable()).toBe(false);
});
