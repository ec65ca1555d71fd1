import { execFile, spawn } from "node:child_process";
import { request } from "node:http";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** An answer to a raw HTTP request: status, headers and body. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/**
 * Sends one HTTP request with `path` exactly as given (no normalisation of `..` or of
 * percent-escapes, unlike `fetch`), so tests can send what an attacker would.
 */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer } = {},
): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers: options.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** HTTP Basic authorization with `token` as the password, as git sends it. */
export function basicAuth(token: string): string {
  return `Basic ${Buffer.from(`x:${token}`).toString("base64")}`;
}

/** One pkt-line of git's wire protocol. */
function pktLine(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, "0")), payload]);
}

/** One ref update of a push: `old new ref` (40 zeros: create or delete). */
export interface PushCommand {
  readonly before: string;
  readonly after: string;
  readonly ref: string;
}

/**
 * The body of a `git-receive-pack` POST, as `git push` would send it: the commands (asking for
 * a status report), then a pack of everything reachable from `tips` in `workDir` (none when
 * only deleting).
 */
export async function receivePackBody(
  commands: readonly PushCommand[],
  workDir: string,
  tips: readonly string[],
): Promise<Buffer> {
  const lines = commands.map((c, i) =>
    pktLine(`${c.before} ${c.after} ${c.ref}${i === 0 ? "\0report-status delete-refs" : ""}\n`),
  );
  const parts = [...lines, Buffer.from("0000")];
  if (tips.length > 0) parts.push(await packOf(workDir, tips));
  return Buffer.concat(parts);
}

function packOf(workDir: string, tips: readonly string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["pack-objects", "--stdout", "--revs", "--quiet"], {
      cwd: workDir,
      stdio: ["pipe", "pipe", "inherit"],
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`pack-objects: ${code}`)),
    );
    child.stdin.end(`${tips.join("\n")}\n`);
  });
}

/** The refs of a (bare) repository: ref name to sha. */
export async function refsOf(repo: string): Promise<Record<string, string>> {
  const { stdout } = await exec("git", [
    "-C",
    repo,
    "for-each-ref",
    "--format=%(refname) %(objectname)",
  ]);
  const refs: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const [ref, sha] = line.split(" ");
    if (ref && sha) refs[ref] = sha;
  }
  return refs;
}
