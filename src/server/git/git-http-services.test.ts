import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sqliteDatabase, type TestDatabase } from "../../../test/helpers/databases.js";
import { committed, git } from "../../../test/helpers/git.js";
import {
  basicAuth,
  type PushCommand,
  rawRequest,
  receivePackBody,
  refsOf,
} from "../../../test/helpers/git-wire.js";
import { SecretBox } from "../../secrets/secret-box.js";
import { openStore, type Store } from "../../store/open-store.js";
import { buildApp } from "../app.js";
import { createToken } from "../auth/tokens.js";
import { repositoryPath } from "./bare-repository.js";

const ZERO = "0".repeat(40);
const SERVICE = "git-receive-pack";

/** `text` with its `i`th character percent-encoded, in upper or lower case hex. */
function escapeAt(text: string, i: number, lower: boolean): string {
  const hex = text.charCodeAt(i).toString(16).padStart(2, "0");
  return `${text.slice(0, i)}%${lower ? hex.toLowerCase() : hex.toUpperCase()}${text.slice(i + 1)}`;
}

function escapeAll(text: string, lower: boolean): string {
  return [...text]
    .map((c) => {
      const hex = c.charCodeAt(0).toString(16);
      return `%${lower ? hex.toLowerCase() : hex.toUpperCase()}`;
    })
    .join("");
}

/** Every way of spelling `git-receive-pack` with percent-escapes, once each. */
function spellings(): string[] {
  const all = new Set<string>([SERVICE]);
  for (let i = 0; i < SERVICE.length; i++) {
    all.add(escapeAt(SERVICE, i, false));
    all.add(escapeAt(SERVICE, i, true));
  }
  all.add(escapeAll(SERVICE, false));
  all.add(escapeAll(SERVICE, true));
  all.add("git%252Dreceive-pack"); // double encoding
  all.add("git%252dreceive%252dpack");
  all.add(escapeAll(escapeAll(SERVICE, false), false));
  return [...all];
}

/** Advertisement requests (GET info/refs) asking for receive-pack in any spelling. */
const queries = [
  ...spellings().map((s) => `service=${s}`),
  `%73ervice=${SERVICE}`,
  `${escapeAll("service", true)}=${escapeAll(SERVICE, true)}`,
  `service=git-upload-pack&service=${SERVICE}`,
  `service=git-upload-pack&service=git%2Dreceive-pack`,
  `service=${SERVICE}&service=git-upload-pack`,
];

/** Push requests (POST) to receive-pack in any spelling of the path. */
const paths = [
  ...spellings(),
  "info/../git-receive-pack",
  "info%2F..%2Fgit-receive-pack",
  "./git-receive-pack",
  "%2E/git%2Dreceive-pack",
];

describe("the git endpoint decides the service as git reads it", () => {
  let database: TestDatabase;
  let store: Store;
  let app: FastifyInstance;
  let base: string;
  let dataDir: string;
  let work: string;
  let main: string;
  let orphan: string;
  const tokens: Record<string, string> = {};
  const pushes: string[] = [];

  beforeAll(async () => {
    database = sqliteDatabase();
    store = await openStore(database.options);
    dataDir = mkdtempSync(join(tmpdir(), "trunkline-git-"));
    app = await buildApp({
      store,
      box: new SecretBox(randomBytes(32)),
      logger: false,
      dataDir,
      onPush: (repo, updates, pusher) => {
        pushes.push(`${pusher.name} ${repo} ${updates.map((u) => u.ref).join(",")}`);
        return undefined;
      },
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    for (const role of ["admin", "developer", "viewer"])
      tokens[role] = (await createToken(store.db, role, role)).token;
    for (const payload of [
      { name: "hosted" },
      { name: "control" },
      { name: "mirror", remoteUrl: "https://git.example.invalid/acme/mirror.git" },
    ]) {
      const created = await app.inject({
        method: "POST",
        url: "/api/v1/repositories",
        headers: { authorization: `Bearer ${tokens.admin}` },
        payload,
      });
      expect(created.statusCode).toBe(201);
    }
    // main and keep at one commit; an unrelated commit to force main to.
    ({ dir: work, sha: main } = await committed({ "README.md": "hello\n" }, "first"));
    await git(work, "branch", "keep");
    await git(work, "checkout", "-q", "--orphan", "other");
    await git(work, "commit", "-q", "-m", "unrelated");
    orphan = (await git(work, "rev-parse", "HEAD")).stdout.trim();
    for (const repo of ["hosted", "control", "mirror"])
      await git(work, "push", "-q", repositoryPath(dataDir, repo), "main", "keep");
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Create a branch, force main to an unrelated commit, delete a branch: all in one push. */
  const attack = (): PushCommand[] => [
    { before: ZERO, after: main, ref: "refs/heads/evil" },
    { before: main, after: orphan, ref: "refs/heads/main" },
    { before: main, after: ZERO, ref: "refs/heads/keep" },
  ];
  const seeded = () => ({ "refs/heads/main": main, "refs/heads/keep": main });

  test("a developer's push through the same requests changes a hosted repository", async () => {
    // Shows the requests below are real pushes: refused only because of who sends them where.
    const auth = basicAuth(tokens.developer ?? "");
    const advert = await rawRequest(base, "GET", `/git/control.git/info/refs?service=${SERVICE}`, {
      headers: { authorization: auth },
    });
    expect(advert.status).toBe(200);
    expect(advert.body.toString()).toContain("# service=git-receive-pack");
    const push = await rawRequest(base, "POST", `/git/control.git/${SERVICE}`, {
      headers: { authorization: auth, "content-type": "application/x-git-receive-pack-request" },
      body: await receivePackBody(attack(), work, [main, orphan]),
    });
    expect(push.status).toBe(200);
    expect(await refsOf(repositoryPath(dataDir, "control"))).toEqual({
      "refs/heads/main": orphan,
      "refs/heads/evil": main,
    });
    expect(pushes).toEqual(["developer control refs/heads/evil,refs/heads/main,refs/heads/keep"]);
  });

  const cases = [
    { role: "viewer", repo: "hosted" },
    { role: "viewer", repo: "mirror" },
    { role: "developer", repo: "mirror" },
  ];
  for (const { role, repo } of cases) {
    describe(`a ${role} on the ${repo} repository`, () => {
      test.each(queries)("GET info/refs?%s is refused", async (query) => {
        const answer = await rawRequest(base, "GET", `/git/${repo}.git/info/refs?${query}`, {
          headers: { authorization: basicAuth(tokens[role] ?? "") },
        });
        expect(answer.status, answer.body.toString()).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(answer.body.toString()).not.toContain("report-status");
      });

      test.each(paths)("POST %s cannot create, force or delete a branch", async (path) => {
        const answer = await rawRequest(base, "POST", `/git/${repo}.git/${path}`, {
          headers: {
            authorization: basicAuth(tokens[role] ?? ""),
            "content-type": "application/x-git-receive-pack-request",
          },
          body: await receivePackBody(attack(), work, [main, orphan]),
        });
        expect(answer.status, answer.body.toString()).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(await refsOf(repositoryPath(dataDir, repo))).toEqual(seeded());
      });

      test("git push itself is refused", async () => {
        const url = `${base.replace("://", `://x:${tokens[role]}@`)}/git/${repo}.git`;
        await expect(
          git(work, "push", "-q", "--force", url, "other:main", "main:evil", ":keep"),
        ).rejects.toThrow(/403/);
        expect(await refsOf(repositoryPath(dataDir, repo))).toEqual(seeded());
      });
    });
  }

  test("no refused request was reported as a push", () => {
    expect(pushes.every((p) => p.startsWith("developer control"))).toBe(true);
  });
});
