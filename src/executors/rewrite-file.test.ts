import { execFileSync } from "node:child_process";
import {
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { tempDirs } from "../../test/helpers/temp-dirs.js";
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
