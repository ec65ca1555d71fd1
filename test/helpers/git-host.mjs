import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * A stand-in for github.com's git service: git's own `git http-backend` (smart HTTP, protocol
 * v2) over `<root>/<owner>/<repo>.git`, at `url`. With a token, every request must carry it
 * as GitHub's git expects it (Basic, any user name). It counts the requests it answered.
 * Shared by the tests and `bench/` (plain JavaScript; its types are in git-host.d.mts).
 */
/** Starts a git host on a free loopback port. */
export async function startGitHost(options = {}) {
  const root = mkdtempSync(join(tmpdir(), "trunkline-githost-"));
  const requests = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://host");
    requests.push(url.pathname);
    if (options.token) {
      const header = req.headers.authorization ?? "";
      const m = /^Basic (.+)$/.exec(header);
      const password = m?.[1] ? Buffer.from(m[1], "base64").toString().split(":")[1] : undefined;
      if (password !== options.token) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="githost"' }).end("no\n");
        return;
      }
    }
    // GitHub serves a repository with or without `.git`.
    const path = url.pathname.replace(/^\/([^/]+)\/([^/]+?)(\.git)?\//, "/$1/$2.git/");
    const child = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH ?? "",
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: path,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
        ...(req.headers["content-encoding"]
          ? { HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"]) }
          : {}),
      },
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let started = false;
    child.stdout.on("data", (chunk) => {
      if (started) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      started = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        const key = line.slice(0, colon);
        const value = line.slice(colon + 1).trim();
        if (key.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else res.setHeader(key, value);
      }
      res.statusCode = status;
      res.write(head.subarray(end + 4));
    });
    child.on("close", () => {
      if (!started) res.statusCode = 500;
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    root,
    requests,
    publish(name, files, tags = []) {
      const work = mkdtempSync(join(tmpdir(), "trunkline-action-"));
      const git = (...args) =>
        execFileSync("git", ["-c", "user.email=a@example.com", "-c", "user.name=a", ...args], {
          cwd: work,
          encoding: "utf8",
        }).trim();
      git("init", "-q", "-b", "main");
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(work, path)), { recursive: true });
        writeFileSync(join(work, path), content);
      }
      git("add", "-A");
      git("commit", "-q", "-m", `publish ${name}`);
      for (const tag of tags) git("tag", "-a", tag, "-m", tag);
      const bare = join(root, `${name}.git`);
      mkdirSync(dirname(bare), { recursive: true });
      execFileSync("git", ["init", "-q", "--bare", bare]);
      git("push", "-q", "--force", bare, "HEAD:refs/heads/main", "--tags");
      return git("rev-parse", "HEAD");
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
