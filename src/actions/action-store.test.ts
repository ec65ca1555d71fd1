import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type GitHost, startGitHost } from "../../test/helpers/git-host.mjs";
import { parseActionReference } from "../workflow/action-reference.js";
import { configuredSources, gitHostSources, StoreSource } from "./action-sources.js";
import { ActionStore } from "./action-store.js";

const ACTION = "runs: {using: node20, main: index.js}\n";

function gitRepo(dir: string, files: Record<string, string>, tag: string): string {
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.email=m@example.com", "-c", "user.name=m", ...args], {
      cwd: dir,
      encoding: "utf8",
    }).trim();
  git("init", "-q", "-b", "main");
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  git("add", "-A");
  git("commit", "-q", "-m", tag);
  git("tag", tag);
  return git("rev-parse", "HEAD");
}

describe("the action store", () => {
  const root = mkdtempSync(join(tmpdir(), "trunkline-actions-"));
  let host: GitHost;
  let v1: string;
  let v2: string;
  beforeAll(async () => {
    host = await startGitHost();
    v1 = host.publish("acme/tool", { "action.yml": ACTION, "index.js": "// v1\n" }, ["v1"]);
    v2 = host.publish("acme/tool", { "action.yml": ACTION, "index.js": "// v2\n" }, ["v2"]);
  });
  afterAll(() => host.close());
  const fresh = (name: string, urls: string[], mirrors: string[] = []) =>
    new ActionStore(join(root, name), configuredSources(mirrors, urls));

  test("resolves an annotated tag to its commit, fetches it once and exports its files", async () => {
    const store = fresh("tags", [host.url]);
    const first = await store.resolve("acme", "tool", "v1");
    expect(first).toEqual({
      root: join(root, "tags", "trees", "acme", "tool", v1),
      commit: v1,
      from: `${host.url}/acme/tool`,
      fetched: true,
    });
    expect(readFileSync(join(root, "tags", "trees", "acme", "tool", v1, "index.js"), "utf8")).toBe(
      "// v1\n",
    );
    expect(existsSync(join(root, "tags", "trees", "acme", "tool", v1, ".git"))).toBe(false);
    // Known now: the ref is asked for again (it may move), the commit is not fetched again.
    const asked = host.requests.length;
    expect(await store.resolve("acme", "tool", "v1")).toMatchObject({ commit: v1 });
    expect(host.requests.slice(asked).filter((p) => p.endsWith("git-upload-pack"))).toHaveLength(1);
    expect(await store.resolve("acme", "tool", "main")).toMatchObject({ commit: v2 });
    // A full SHA the store holds needs no source at all.
    const before = host.requests.length;
    expect(await store.resolve("acme", "tool", v1)).toMatchObject({ commit: v1 });
    expect(host.requests.length).toBe(before);
  });

  test("one fetch for jobs asking at the same time", async () => {
    const store = fresh("same-time", [host.url]);
    const all = await Promise.all([1, 2, 3, 4].map(() => store.resolve("acme", "tool", "v2")));
    for (const found of all) expect(found).toMatchObject({ commit: v2 });
    expect(all.filter((f) => "fetched" in f && f.fetched)).toHaveLength(1);
  });

  test("a missing action names every place tried", async () => {
    const store = fresh("missing", [host.url], [join(root, "no-mirror")]);
    expect(await store.resolve("acme", "tool", "v9")).toEqual({
      error: expect.stringContaining("no tag or branch 'v9'"),
      tried: [join(root, "no-mirror", "acme", "tool"), `${host.url}/acme/tool`],
    });
    const gone = await store.resolve("acme", "nothing", "v1");
    expect(gone).toMatchObject({
      tried: [join(root, "no-mirror", "acme", "nothing"), `${host.url}/acme/nothing`],
    });
    expect("error" in gone && gone.error).toMatch(/acme\/nothing@v1 was not found/);
    expect(await fresh("none", ["none"]).resolve("acme", "tool", "v1")).toEqual({
      error: "no source serves acme/tool: give one with --actions-url or --action-mirror",
      tried: [],
    });
  });

  test("mirrors win over the git host, and an owner can have a host of its own", async () => {
    const mirror = join(root, "mirror");
    const mirrored = gitRepo(
      join(mirror, "acme", "tool"),
      { "action.yml": ACTION, "index.js": "// mirrored\n" },
      "v1",
    );
    const asked = host.requests.length;
    const store = fresh("mirrored", [host.url], [mirror]);
    expect(await store.resolve("acme", "tool", "v1")).toMatchObject({ commit: mirrored });
    expect(host.requests.length).toBe(asked);
    const other = await startGitHost();
    try {
      const theirs = other.publish("acme/tool", { "action.yml": ACTION }, ["v1"]);
      const split = fresh("per-owner", [`acme=${other.url}`, host.url]);
      expect(await split.resolve("acme", "tool", "v1")).toMatchObject({ commit: theirs });
      expect(split.places("acme", "tool")).toEqual([`${other.url}/acme/tool`]);
      expect(split.places("else", "x")).toEqual([`${host.url}/else/x`]);
    } finally {
      await other.close();
    }
  });

  test("a host that wants a token gets it, as git config, not in the URL", async () => {
    const guarded = await startGitHost({ token: "s3cret" });
    try {
      const sha = guarded.publish("acme/private", { "action.yml": ACTION }, ["v1"]);
      const without = new ActionStore(join(root, "no-token"), gitHostSources([guarded.url]));
      const refused = await without.resolve("acme", "private", "v1");
      expect(refused).toMatchObject({
        error: expect.stringMatching(/acme\/private@v1 was not found/),
      });
      const withToken = new ActionStore(
        join(root, "token"),
        gitHostSources([guarded.url], "s3cret"),
      );
      expect(await withToken.resolve("acme", "private", "v1")).toMatchObject({ commit: sha });
      expect(withToken.places("acme", "private")).toEqual([`${guarded.url}/acme/private`]);
    } finally {
      await guarded.close();
    }
  });

  test("a server's store serves another store: plain-directory mirrors as a commit", async () => {
    const plain = join(root, "plain", "acme", "dir");
    mkdirSync(plain, { recursive: true });
    writeFileSync(join(plain, "action.yml"), ACTION);
    const server = fresh("server", ["none"], [join(root, "plain")]);
    const first = await server.commit("acme", "dir", "v1");
    expect(first).toMatchObject({ commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(await server.commit("acme", "dir", "v1")).toEqual(first);
    const runner = new ActionStore(join(root, "runner"), [new StoreSource(server)]);
    const got = await runner.resolve("acme", "dir", "v1");
    expect(got).toMatchObject({ commit: "commit" in first ? first.commit : "", fetched: true });
    expect(readFileSync(join("root" in got ? got.root : "", "action.yml"), "utf8")).toBe(ACTION);
  });

  test("a name that would lead out of the store or a mirror is refused", async () => {
    const store = fresh("names", ["none"], [join(root, "mirror")]);
    expect(await store.resolve("..", "..", "v1")).toEqual({
      error: "'..' is not an owner or repository name",
      tried: [],
    });
    expect(await store.commit("acme", ".", "v1")).toMatchObject({
      error: "'.' is not an owner or repository name",
    });
  });

  test("references", () => {
    expect(parseActionReference("./x")).toEqual({ kind: "local", path: "./x" });
    expect(parseActionReference("docker://alpine:3")).toEqual({
      kind: "docker",
      image: "alpine:3",
    });
    expect(parseActionReference("o/r/sub/dir@v2")).toEqual({
      kind: "remote",
      owner: "o",
      repo: "r",
      path: "sub/dir",
      ref: "v2",
    });
    expect(parseActionReference("o/r/../x@v1")).toBeUndefined();
    // Names become paths: `.` and `..` (any name starting with a dot) are not names.
    expect(parseActionReference("../..@v1")).toBeUndefined();
    expect(parseActionReference("./..@v1")).toEqual({ kind: "local", path: "./..@v1" });
    expect(parseActionReference(".hidden/x@v1")).toBeUndefined();
    expect(parseActionReference("nonsense")).toBeUndefined();
  });
});

test("the token is the default host's: an owner's host elsewhere does not get it", () => {
  const [acme, same, base] = gitHostSources(
    [
      "https://git.example.com",
      "acme=https://gitea.other.org",
      "ours=https://git.example.com/mirror",
    ],
    "s3cret",
  );
  const header = (s: { credentials(): Readonly<Record<string, string>> } | undefined) =>
    Object.values(s?.credentials() ?? {}).some((v) => v.startsWith("Authorization: Basic"));
  expect(acme?.place("acme", "x")).toBe("https://gitea.other.org/acme/x");
  expect(header(acme)).toBe(false);
  expect(same?.place("ours", "x")).toBe("https://git.example.com/mirror/ours/x");
  expect(header(same)).toBe(true);
  expect(header(base)).toBe(true);
  // With no default host, the owners' hosts the operator named get it.
  const [only] = gitHostSources(["none", "acme=https://gitea.other.org"], "s3cret");
  expect(header(only)).toBe(true);
});
