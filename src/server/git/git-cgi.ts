import { spawn } from "node:child_process";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { TokenInfo } from "../auth/tokens.js";
import type { GitRequest } from "./git-request.js";

/**
 * Runs `git http-backend` as a CGI program for this request (repositories under `projectRoot`) and streams its answer back;
 * resolves, once git is done, to the function that ends the response.
 */
export function gitCgi(
  request: FastifyRequest,
  reply: FastifyReply,
  projectRoot: string,
  asked: GitRequest,
  caller: TokenInfo,
  extraEnv: Record<string, string>,
): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["http-backend"], {
      env: {
        ...extraEnv,
        PATH: process.env.PATH ?? "",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: asked.pathInfo,
        REQUEST_METHOD: request.method,
        QUERY_STRING: asked.queryString,
        CONTENT_TYPE: String(request.headers["content-type"] ?? ""),
        REMOTE_USER: caller.name,
        REMOTE_ADDR: request.ip,
        ...(request.headers["content-encoding"]
          ? { HTTP_CONTENT_ENCODING: String(request.headers["content-encoding"]) }
          : {}),
        ...(request.headers["git-protocol"]
          ? { GIT_PROTOCOL: String(request.headers["git-protocol"]) }
          : {}),
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const body = request.body as NodeJS.ReadableStream | undefined;
    if (body && typeof body.pipe === "function") body.pipe(child.stdin);
    else child.stdin.end();
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        reply.raw.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        const key = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (key.toLowerCase() === "status") status = Number.parseInt(value, 10) || 200;
        else if (key) reply.raw.setHeader(key, value);
      }
      reply.raw.statusCode = status;
      reply.hijack();
      reply.raw.write(head.subarray(end + 4));
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (!headersDone)
        resolve(() => void reply.code(500).send(`git http-backend failed (${code})\n`));
      else resolve(() => reply.raw.end());
    });
  });
}
