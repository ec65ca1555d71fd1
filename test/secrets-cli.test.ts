import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { describeOnEachDatabase, postgresAvailable } from "./helpers/databases.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { BIN } from "./helpers/server-process.js";

const postgres = await postgresAvailable();

/** Runs the built CLI with `stdin` piped in, as `printf ... | trunkline ...` would. */
function trunkline(
  args: string[],
  stdin: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describeOnEachDatabase("an empty secret value is refused", postgres, (context) => {
  let server: TestServer;
  let flags: string[];
  const dir = mkdtempSync(join(tmpdir(), "trunkline-secrets-"));

  beforeAll(async () => {
    if (!context.available) return;
    server = await startTestServer(context.store);
    await server.api("admin", "POST", "/api/v1/repositories", { name: "app" });
    flags = ["--server", server.base, "--token", server.tokens.admin];
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (context.available) await server.close();
  });

  const stored = async () =>
    (await context.store.db.selectFrom("secrets").select("name").execute()).map((s) => s.name);

  test.runIf(context.available)(
    "by `secrets set` from an empty stdin, an empty file or an empty --value",
    async () => {
      const empty = join(dir, "empty");
      writeFileSync(empty, "");
      const cases: [string[], string, string][] = [
        [[], "", "standard input was empty (pipe the value in, or use --value or --from-file)"],
        [[], "\n", "standard input was empty (pipe the value in, or use --value or --from-file)"],
        [
          ["--repo", "app"],
          "",
          "standard input was empty (pipe the value in, or use --value or --from-file)",
        ],
        [["--from-file", empty], "", `--from-file ${empty} is empty`],
        [["--value", ""], "", "--value is empty"],
      ];
      for (const [extra, stdin, why] of cases) {
        const result = await trunkline(["secrets", "set", "API_KEY", ...extra, ...flags], stdin);
        expect([extra, stdin, result.code, result.stderr]).toEqual([
          extra,
          stdin,
          2,
          `trunkline: secret API_KEY: not set, ${why}\n`,
        ]);
      }
      expect(await stored()).toEqual([]);
      const set = await trunkline(["secrets", "set", "API_KEY", ...flags], "v4lue\n");
      expect([set.code, set.stderr]).toEqual([0, "trunkline: secret API_KEY set (organisation)\n"]);
      expect(await stored()).toEqual(["API_KEY"]);
    },
  );

  test.runIf(context.available)("by the API at every scope, with a 400", async () => {
    for (const path of [
      "/api/v1/secrets/EMPTY",
      "/api/v1/repositories/app/secrets/EMPTY",
      "/api/v1/repositories/app/environments/prod/secrets/EMPTY",
    ]) {
      expect([path, await server.api("admin", "PUT", path, { value: "" })]).toEqual([
        path,
        {
          status: 400,
          body: { code: "invalid_input", message: "secret 'EMPTY': the value is empty" },
        },
      ]);
    }
    expect(await stored()).not.toContain("EMPTY");
  });
});
