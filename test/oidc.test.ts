import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  jwtVerify,
} from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAgent } from "./helpers/agent-process.js";
import { jsonTexts, runCli } from "./helpers/capture.js";
import { committed, git } from "./helpers/git.js";
import { finishedRun, serverApi } from "./helpers/server-api.js";
import { startServerProcess } from "./helpers/server-process.js";
import { tempRepo } from "./helpers/temp-repo.js";
import { OIDC_MAIN } from "./helpers/toolkit-actions.js";

// A job with `permissions: id-token: write` gets OIDC tokens signed by the server, which a
// stand-in for a cloud's token exchange verifies as AWS or GCP would: the issuer's discovery
// document, its JWKS, the signature, the audience and the claims.

/** What the stand-in verified, per exchange. */
const verified: { payload: JWTPayload; kid: string | undefined }[] = [];
const refused: string[] = [];
let sts: Server;
let stsUrl = "";

beforeAll(async () => {
  sts = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const token = Buffer.concat(chunks).toString();
    try {
      const issuer = String(decodeJwt(token).iss);
      const discovery = (await (
        await fetch(`${issuer}/.well-known/openid-configuration`)
      ).json()) as {
        issuer: string;
        jwks_uri: string;
      };
      expect(discovery.issuer).toBe(issuer);
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
        issuer,
        audience: "sts.test",
      });
      verified.push({ payload, kid: decodeProtectedHeader(token).kid });
      res.end("verified");
    } catch (err) {
      refused.push((err as Error).message);
      res.writeHead(403).end("refused");
    }
  });
  await new Promise<void>((resolve) => sts.listen(0, "127.0.0.1", resolve));
  stsUrl = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
});

describe("OIDC tokens in a local run", () => {
  test("a job with id-token: write gets a token from the run's own issuer, which verifies", async () => {
    verified.length = 0;
    const repo = tempRepo(
      {
        ".github/workflows/deploy.yml": [
          "on: push",
          `env: { STS: "${stsUrl}" }`,
          "jobs:",
          "  deploy:",
          "    runs-on: ubuntu-latest",
          "    environment: staging",
          "    permissions: { id-token: write }",
          "    steps:",
          "      - uses: ./oidc",
          '      - run: echo "request token, $ACTIONS_ID_TOKEN_REQUEST_TOKEN"',
          "  build:",
          "    runs-on: ubuntu-latest",
          "    steps:",
          "      - run: test -z \"$ACTIONS_ID_TOKEN_REQUEST_URL\" && echo 'build asked for no id token'",
          "",
        ].join("\n"),
        "oidc/action.yml": "name: oidc\nruns:\n  using: node20\n  main: main.mjs\n",
        "oidc/main.mjs": OIDC_MAIN,
      },
      { git: true },
    );
    try {
      const result = await runCli(["--cwd", repo.dir, "run", "--json"]);
      const texts = jsonTexts(result);
      expect(result.code, `${texts.join("\n")}\n${refused.join("\n")}`).toBe(0);
      expect(texts).toContain("exchanged: 200 verified");
      expect(texts).toContain("request token, ***");
      expect(texts).toContain("build asked for no id token");
      expect(verified).toHaveLength(1);
      expect(verified[0]?.payload).toMatchObject({
        aud: "sts.test",
        environment: "staging",
        ref: "refs/heads/main",
        sub: `repo:${verified[0]?.payload.repository}:environment:staging`,
      });
      expect(String(verified[0]?.payload.iss)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      repo.cleanup();
    }
  }, 120_000);
});

describe("OIDC tokens for jobs on the server", () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    sts.close();
  });
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };

  test.each([
    ["on an agent", true],
    ["on the embedded runner", false],
  ])(
    "a job with id-token: write logs in with a token whose signature and claims hold: %s",
    async (_, agent) => {
      verified.length = 0;
      const server = await startServerProcess({
        dataDir: tempDir("trunkline-oidc-server-"),
        extraArgs: agent
          ? ["--runner-capacity", "0"]
          : ["--jobs-dir", tempDir("trunkline-oidc-jobs-")],
      });
      children.push(server.child);
      if (agent)
        children.push(await startAgent(server, "ubuntu-latest", tempDir("trunkline-oidc-agent-")));
      const api = serverApi(() => server);
      await api("POST", "/api/v1/repositories", { name: "app" });
      const { dir: work, sha } = await committed(
        {
          ".github/workflows/deploy.yml": [
            "on: push",
            `env: { STS: "${stsUrl}" }`,
            "jobs:",
            "  build:",
            "    runs-on: ubuntu-latest",
            "    steps:",
            "      - run: test -z \"$ACTIONS_ID_TOKEN_REQUEST_TOKEN\" && echo 'build asked for no id token'",
            "  deploy:",
            "    runs-on: ubuntu-latest",
            "    environment: staging",
            "    permissions: { id-token: write, contents: read }",
            "    steps:",
            "      - uses: actions/checkout@v4",
            "      - uses: ./oidc",
            '      - run: echo "request token, $ACTIONS_ID_TOKEN_REQUEST_TOKEN"',
            '      - run: echo "api at $GITHUB_API_URL"',
            "",
          ].join("\n"),
          "oidc/action.yml": "name: oidc\nruns:\n  using: node20\n  main: main.mjs\n",
          "oidc/main.mjs": OIDC_MAIN,
        },
        "deploy",
      );
      dirs.push(work);
      await git(work, "push", "-q", server.gitUrl("app"), "main");
      const run = await finishedRun(api, "app");
      const { logs } = run;
      expect(run.status, `${JSON.stringify(logs, null, 2)}\n${refused.join("\n")}`).toBe("success");
      expect(logs.build).toContain("build asked for no id token");
      expect(logs.deploy).toContain("exchanged: 200 verified");
      // The request token is a credential: masked in the log.
      expect(logs.deploy).toContain("request token, ***");
      // The API that takes the job's token is the server's, not api.github.com.
      expect(logs.deploy).toContain(`api at ${server.base}/api/v1`);

      expect(verified).toHaveLength(1);
      const { payload, kid } = verified[0] as (typeof verified)[number];
      const jwks = (await (await fetch(`${server.base}/.well-known/jwks`)).json()) as {
        keys: { kid: string }[];
      };
      expect(jwks.keys.map((k) => k.kid)).toContain(kid);
      expect(payload).toMatchObject({
        aud: "sts.test",
        sub: `repo:${payload.repository}:environment:staging`,
        environment: "staging",
        ref: "refs/heads/main",
        sha,
        event_name: "push",
        run_id: run.id,
        run_attempt: "1",
        workflow_ref: `${payload.repository}/.github/workflows/deploy.yml@refs/heads/main`,
        runner_environment: "self-hosted",
      });
      expect(String(payload.repository)).toMatch(/app$/);
      expect(Number(payload.exp) - Number(payload.iat)).toBe(300);
    },
  );

  test("the token endpoint refuses a request without the job's request token", async () => {
    const server = await startServerProcess({
      dataDir: tempDir("trunkline-oidc-refuse-"),
      extraArgs: ["--runner-capacity", "0"],
    });
    children.push(server.child);
    const none = await fetch(`${server.base}/_oidc/token?api-version=2.0&audience=x`);
    expect(none.status).toBe(401);
    // An API token, even an admin's, is not a job's request token.
    const admin = await fetch(`${server.base}/_oidc/token?api-version=2.0&audience=x`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    expect(admin.status).toBe(401);
    expect(((await admin.json()) as { message: string }).message).toMatch(/id-token: write/);
  }, 120_000);
});
