import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { expect, test } from "vitest";
import { committed, git } from "../../test/helpers/git.js";
import { tempDirs } from "../../test/helpers/temp-dirs.js";
import { checkoutInto, copyTree } from "./commit-files.js";

const { make: tempDir, keep } = tempDirs("copy");

/** A tree as `{ path: content | "-> link" | "/" }` with modes, for comparing trees. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const key = relative(dir, p);
      const st = lstatSync(p);
      if (e.isDirectory()) {
        out[key] = "/";
        walk(p);
      } else if (e.isSymbolicLink()) out[key] = "-> link";
      else out[key] = `${(st.mode & 0o777).toString(8)} ${readFileSync(p, "utf8")}`;
    }
  };
  walk(dir);
  return out;
}

function sourceTree(): { root: string; source: string } {
  const root = tempDir();
  const source = join(root, "source");
  mkdirSync(join(source, "app", "deep"), { recursive: true });
  writeFileSync(join(source, "app", "hello.txt"), "hello\n");
  writeFileSync(join(source, "app", "deep", "x.txt"), "x\n");
  writeFileSync(join(source, "tool.sh"), "#!/bin/sh\n");
  chmodSync(join(source, "tool.sh"), 0o755);
  symlinkSync("app/hello.txt", join(source, "hello-link"));
  return { root, source };
}

test("a copy over a used workspace ends identical to the source, whatever the last job did", () => {
  const { root, source } = sourceTree();
  const ws = join(root, "ws");
  copyTree(source, ws);
  expect(snapshot(ws)).toEqual(snapshot(source));

  // What a job may do to its workspace.
  writeFileSync(join(ws, "app", "hello.txt"), "HELLO\n"); // same length
  chmodSync(join(ws, "tool.sh"), 0o644);
  rmSync(join(ws, "app", "deep"), { recursive: true });
  writeFileSync(join(ws, "app", "deep"), "a file where a folder was");
  rmSync(join(ws, "hello-link"));
  mkdirSync(join(ws, "hello-link"));
  mkdirSync(join(ws, "extra", "nested"), { recursive: true });
  writeFileSync(join(ws, "extra", "nested", "f"), "f");
  writeFileSync(join(ws, "stray"), "stray");
  chmodSync(join(ws, "app", "hello.txt"), 0o444);

  copyTree(source, ws);
  expect(snapshot(ws)).toEqual(snapshot(source));
});

test("a folder the last job made read-only or unreadable gets the commit's mode back", () => {
  const { root, source } = sourceTree();
  const ws = join(root, "ws");
  copyTree(source, ws);
  const mode = statSync(join(source, "app")).mode & 0o7777;
  chmodSync(join(ws, "app"), 0o555);
  chmodSync(join(ws, "app", "deep"), 0);
  copyTree(source, ws);
  expect(statSync(join(ws, "app")).mode & 0o7777).toBe(mode);
  expect(statSync(join(ws, "app", "deep")).mode & 0o7777).toBe(
    statSync(join(source, "app", "deep")).mode & 0o7777,
  );
  expect(snapshot(ws)).toEqual(snapshot(source));
});

test("nothing outside the workspace is written: a file made a link or hard-linked is replaced", () => {
  const { root, source } = sourceTree();
  const ws = join(root, "ws");
  const outside = join(root, "outside.txt");
  copyTree(source, ws);
  writeFileSync(outside, "outside\n");
  rmSync(join(ws, "app", "hello.txt"));
  symlinkSync(outside, join(ws, "app", "hello.txt"));
  const hard = join(root, "hard.txt");
  writeFileSync(join(ws, "tool.sh"), "changed\n");
  linkSync(join(ws, "tool.sh"), hard);

  copyTree(source, ws);
  expect(snapshot(ws)).toEqual(snapshot(source));
  expect(readFileSync(outside, "utf8")).toBe("outside\n");
  expect(readFileSync(hard, "utf8")).toBe("changed\n");
});

test("unchanged files and folders are kept as they are (same inode), not made anew", () => {
  const { root, source } = sourceTree();
  const ws = join(root, "ws");
  copyTree(source, ws);
  const before = {
    file: statSync(join(ws, "app", "deep", "x.txt")).ino,
    dir: statSync(join(ws, "app", "deep")).ino,
    changed: statSync(join(ws, "app", "hello.txt")).ino,
  };
  writeFileSync(join(ws, "app", "hello.txt"), "changed, longer\n");
  copyTree(source, ws);
  expect(statSync(join(ws, "app", "deep", "x.txt")).ino).toBe(before.file);
  expect(statSync(join(ws, "app", "deep")).ino).toBe(before.dir);
  // Written over in place.
  expect(statSync(join(ws, "app", "hello.txt")).ino).toBe(before.changed);
  expect(readFileSync(join(ws, "app", "hello.txt"), "utf8")).toBe("hello\n");
});

test("a workspace made a link to a folder elsewhere: the link is replaced, the folder untouched", () => {
  const { root, source } = sourceTree();
  const elsewhere = join(root, "elsewhere");
  mkdirSync(elsewhere);
  writeFileSync(join(elsewhere, "precious"), "keep");
  const ws = join(root, "ws");
  symlinkSync(elsewhere, ws);
  copyTree(source, ws);
  expect(lstatSync(ws).isDirectory()).toBe(true);
  expect(snapshot(ws)).toEqual(snapshot(source));
  expect(readdirSync(elsewhere)).toEqual(["precious"]);
});

test("a file where the workspace goes is replaced by the tree", () => {
  const { root, source } = sourceTree();
  const ws = join(root, "ws");
  writeFileSync(ws, "not a folder");
  copyTree(source, ws);
  expect(snapshot(ws)).toEqual(snapshot(source));
});

test("checkoutInto writes a commit's files, or a folder's, from a repository bare or not", async () => {
  const { dir: repo, sha } = await committed({
    "README.md": "hello\n",
    "sub/app/a.txt": "a\n",
    "bin/tool": "#!/bin/sh\n",
  });
  keep(repo);
  await git(repo, "update-index", "--chmod=+x", "bin/tool");
  await git(repo, "commit", "-q", "-m", "executable");
  const head = (await git(repo, "rev-parse", "HEAD")).stdout.trim();
  const index = readFileSync(join(repo, ".git", "index"));
  writeFileSync(join(repo, "README.md"), "uncommitted\n");
  const root = tempDir();

  expect(await checkoutInto(repo, head, join(root, "whole"))).toBe(true);
  expect(snapshot(join(root, "whole"))).toEqual({
    "README.md": "644 hello\n",
    bin: "/",
    "bin/tool": "755 #!/bin/sh\n",
    sub: "/",
    "sub/app": "/",
    "sub/app/a.txt": "644 a\n",
  });
  expect(await checkoutInto(repo, `${sha}:sub`, join(root, "folder"))).toBe(true);
  expect(snapshot(join(root, "folder"))).toEqual({ app: "/", "app/a.txt": "644 a\n" });
  // The repository's own index and work tree are left as they were.
  expect(readFileSync(join(repo, ".git", "index"))).toEqual(index);
  expect(readFileSync(join(repo, "README.md"), "utf8")).toBe("uncommitted\n");

  const bare = join(root, "bare.git");
  await git(root, "clone", "-q", "--bare", repo, bare);
  expect(await checkoutInto(bare, head, join(root, "from-bare"))).toBe(true);
  expect(snapshot(join(root, "from-bare"))).toEqual(snapshot(join(root, "whole")));
  expect(readdirSync(root).filter((e) => e.includes(".index-"))).toEqual([]);

  expect(
    await checkoutInto(repo, "0123456789abcdef0123456789abcdef01234567", join(root, "x")),
  ).toBe(false);
  expect(await checkoutInto(join(root, "not-a-repo"), head, join(root, "y"))).toBe(false);
});
