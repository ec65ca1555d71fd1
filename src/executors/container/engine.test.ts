import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { EngineUnavailableError } from "../../common/errors.js";
import { engineCandidates, findEngine, forgetEngine, probeEngine } from "./engine.js";

afterEach(() => forgetEngine());

describe("where an engine is looked for", () => {
  test("DOCKER_HOST alone when it is set", () => {
    expect(engineCandidates({ DOCKER_HOST: "unix:///tmp/d.sock" })).toEqual([
      { label: "DOCKER_HOST=unix:///tmp/d.sock", options: { socketPath: "/tmp/d.sock" } },
    ]);
    expect(engineCandidates({ DOCKER_HOST: "tcp://10.0.0.2:2375" })).toEqual([
      {
        label: "DOCKER_HOST=tcp://10.0.0.2:2375",
        options: { protocol: "http", host: "10.0.0.2", port: "2375" },
      },
    ]);
  });

  test("else Docker's socket, Podman's, and the rootless Podman socket", () => {
    expect(engineCandidates({ XDG_RUNTIME_DIR: "/run/user/1000" }).map((c) => c.label)).toEqual([
      "/var/run/docker.sock",
      "/run/podman/podman.sock",
      "/run/user/1000/podman/podman.sock",
    ]);
    expect(engineCandidates({}).map((c) => c.label)).toEqual([
      "/var/run/docker.sock",
      "/run/podman/podman.sock",
    ]);
  });

  test("no engine: one error saying where it looked and how to configure one", async () => {
    const err = await findEngine({ DOCKER_HOST: "unix:///nonexistent/docker.sock" }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EngineUnavailableError);
    expect((err as EngineUnavailableError).code).toBe("engine_unavailable");
    expect((err as Error).message).toBe(
      "no container engine answers; tried DOCKER_HOST=unix:///nonexistent/docker.sock (no such socket). Start Docker, or Podman's API service (podman system service --time=0 unix:///run/podman/podman.sock &), or set DOCKER_HOST to the engine's socket (unix:///path/to/socket or tcp://host:port)",
    );
  });

  test("a socket nobody listens on is reported with the connection error", async () => {
    const err = await findEngine({ DOCKER_HOST: "tcp://127.0.0.1:1" }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /^no container engine answers; tried DOCKER_HOST=tcp:\/\/127\.0\.0\.1:1 \(.*ECONNREFUSED.*\)\./,
    );
  });
});

describe("a busy engine", () => {
  const PING_TIMEOUT_MS = 200;
  let server: Server | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("that answers its ping at once and all else slowly is found, and its version read later", async () => {
    // A stand-in for Podman under load, on a real unix socket: `_ping` answers at once,
    // `/version` only well after the ping's timeout.
    dir = mkdtempSync(join(tmpdir(), "trunkline-engine-"));
    const socket = join(dir, "engine.sock");
    const asked: string[] = [];
    server = createServer((request, response) => {
      const path = new URL(request.url ?? "/", "http://engine").pathname;
      asked.push(path);
      if (path.endsWith("/_ping")) {
        response.writeHead(200, { "content-type": "text/plain" }).end("OK");
      } else if (path.endsWith("/version")) {
        setTimeout(() => {
          response
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify({ Version: "5.0.0", Components: [{ Name: "Podman Engine" }] }));
        }, PING_TIMEOUT_MS * 5);
      } else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server?.listen(socket, resolve));

    const engine = await probeEngine(
      { DOCKER_HOST: `unix://${socket}` },
      { pingTimeoutMs: PING_TIMEOUT_MS },
    );
    expect(engine.where).toBe(`DOCKER_HOST=unix://${socket}`);
    // Only the ping decided: the version report was not waited for.
    expect(asked).toEqual(["/_ping"]);
    expect(await engine.product()).toBe("Podman Engine");
    expect(asked).toEqual(["/_ping", "/version"]);
  });
});
