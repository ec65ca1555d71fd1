import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";

const BIN = join(import.meta.dirname, "..", "dist", "trunkline.js");

describe("trunkline serve (the built executable)", () => {
  test("starts on SQLite in its data directory, makes a first admin token, answers, and stops on SIGTERM", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "trunkline-serve-"));
    const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--data-dir", dataDir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /serving on (http:\/\/\S+)/.exec(stderr);
        if (m?.[1]) {
          clearInterval(timer);
          resolve(m[1]);
        }
      }, 20);
      child.on("exit", () => reject(new Error(`serve exited: ${stderr}`)));
    });
    expect(await (await fetch(`${address}/healthz`)).json()).toEqual({ status: "ok" });
    const tokenFile = join(dataDir, "admin-token");
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, "utf8").trim();
    const created = await fetch(`${address}/api/v1/repositories`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "demo" }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`${address}/api/v1/repositories`)).status).toBe(401);
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(0);
  });
});
