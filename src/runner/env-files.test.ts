import { linkSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { tempDirs } from "../../test/helpers/temp-dirs.js";
import { createStepFiles, readStepFiles } from "./env-files.js";

const { make: tempDir } = tempDirs("env-files");

test("a step file a step replaced by a link is neither read nor emptied through it", () => {
  const base = tempDir();
  const secret = join(base, "master.key");
  writeFileSync(secret, "name=the-runner-s-secret\n");
  const files = createStepFiles(base);
  // The runner reads the files as itself: a job running as another user must not make it
  // read (and empty) a file of the runner's for it.
  rmSync(files.GITHUB_OUTPUT);
  symlinkSync(secret, files.GITHUB_OUTPUT);
  rmSync(files.GITHUB_ENV);
  linkSync(secret, files.GITHUB_ENV);
  writeFileSync(files.GITHUB_STATE, "kept=yes\n");
  const read = readStepFiles(files);
  expect(read.outputs).toEqual([]);
  expect(read.env).toEqual([]);
  expect(read.state).toEqual([["kept", "yes"]]);
  expect(readFileSync(secret, "utf8")).toBe("name=the-runner-s-secret\n");
});
