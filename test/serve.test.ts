import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { startServerProcess } from "./helpers/server-process.js";

describe("trunkline serve (the built executable)", () => {
  test("starts on SQLite in its data directory, makes a first admin token, answers, and stops on SIGTERM", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "trunkline-serve-"));
    const server = await startServerProcess({ dataDir });
    expect(await (await fetch(`${server.base}/healthz`)).json()).toEqual({ status: "ok" });
    expect(statSync(join(dataDir, "admin-token")).mode & 0o777).toBe(0o600);
    const created = await fetch(`${server.base}/api/v1/repositories`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "demo" }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`${server.base}/api/v1/repositories`)).status).toBe(401);
    expect(await server.stop("SIGTERM")).toBe(0);
  });
});
