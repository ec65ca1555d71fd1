import { randomBytes } from "node:crypto";
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from "jose";
import { describe, expect, test } from "vitest";
import type { JobSpec } from "../compiler/job-spec.js";
import { OidcIssuer, oidcClaims } from "./oidc.js";
import { RuntimeTokens, scopeOf } from "./runtime-token.js";

function spec(github: Record<string, unknown>, environment?: string): JobSpec {
  return {
    runId: "r1",
    jobId: "deploy",
    key: "ci.yml / deploy",
    name: "deploy",
    workflow: { name: "CI", file: ".github/workflows/ci.yml" },
    runsOn: ["ubuntu-latest"],
    ...(environment ? { environment: { name: environment } } : {}),
    contexts: { github, inputs: {}, vars: {}, secrets: {}, matrix: {}, strategy: {}, needs: {} },
    env: {},
    defaults: {},
    steps: [],
    timeoutMinutes: 360,
    continueOnError: false,
    masks: [],
  };
}

const GITHUB = {
  repository: "acme/app",
  repository_owner: "acme",
  ref: "refs/heads/main",
  ref_type: "branch",
  sha: "abc123",
  event_name: "push",
  run_id: "r1",
  run_number: 7,
  run_attempt: "2",
  actor: "ada",
  workflow: "CI",
  workflow_ref: "acme/app/.github/workflows/ci.yml@refs/heads/main",
};

describe("OIDC claims", () => {
  test.each([
    ["a branch push", GITHUB, undefined, "repo:acme/app:ref:refs/heads/main"],
    [
      "a tag",
      { ...GITHUB, ref: "refs/tags/v1.2.0", ref_type: "tag" },
      undefined,
      "repo:acme/app:ref:refs/tags/v1.2.0",
    ],
    [
      "a pull request",
      { ...GITHUB, event_name: "pull_request", ref: "refs/pull/4/merge" },
      undefined,
      "repo:acme/app:pull_request",
    ],
    [
      "an environment wins",
      { ...GITHUB, event_name: "pull_request" },
      "production",
      "repo:acme/app:environment:production",
    ],
  ])("sub for %s", (_, github, environment, sub) => {
    expect(oidcClaims(spec(github, environment)).sub).toBe(sub);
  });

  test("the run's facts, as strings", () => {
    expect(oidcClaims(spec(GITHUB, "staging"))).toMatchObject({
      repository: "acme/app",
      repository_owner: "acme",
      run_number: "7",
      run_attempt: "2",
      environment: "staging",
      job_workflow_ref: GITHUB.workflow_ref,
      runner_environment: "self-hosted",
    });
    expect(oidcClaims(spec(GITHUB))).not.toHaveProperty("environment");
  });
});

describe("the OIDC issuer", () => {
  test("signs with its key's kid; its JWKS verifies issuer, audience and lifetime", async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const issuer = new OidcIssuer([
      {
        kid: "k1",
        privateKey,
        publicJwk: { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256" },
      },
    ]);
    const token = await issuer.issue(
      { sub: "repo:acme/app:ref:refs/heads/main" },
      "https://ci.example",
      "sts",
    );
    const jwks = createLocalJWKSet(issuer.jwks());
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: "https://ci.example",
      audience: "sts",
    });
    expect(protectedHeader).toMatchObject({ alg: "RS256", kid: "k1" });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(300);
    expect(Number(payload.iat) - Number(payload.nbf)).toBe(600);
    await expect(jwtVerify(token, jwks, { audience: "other" })).rejects.toThrow();
    expect(issuer.configuration("https://ci.example")).toMatchObject({
      issuer: "https://ci.example",
      jwks_uri: "https://ci.example/.well-known/jwks",
    });
  });
});

describe("runtime tokens", () => {
  const tokens = new RuntimeTokens(randomBytes(32));

  test("a runtime token and an ID token request token never pass for each other", async () => {
    const runtime = await tokens.issue({ runId: "1", jobId: "j" });
    const request = await tokens.issueIdTokenRequest({ sub: "x" });
    expect(await tokens.verify(runtime)).toEqual({ runId: "1", jobId: "j" });
    expect(await tokens.verifyIdTokenRequest(request)).toEqual({ sub: "x" });
    expect(await tokens.verify(request)).toBeUndefined();
    expect(await tokens.verifyIdTokenRequest(runtime)).toBeUndefined();
    expect(await new RuntimeTokens(randomBytes(32)).verify(runtime)).toBeUndefined();
  });

  test.each([
    ["Actions.GenericRead:0 Actions.Results:run:job", { runId: "run", jobId: "job" }],
    ["Actions.Results:run", undefined],
    ["Actions.Results:a:b:c", undefined],
    ["", undefined],
  ])("scope of '%s'", (scp, scope) => {
    expect(scopeOf(scp)).toEqual(scope);
  });

  test("a token issued for a lease is valid only while the lease is held", async () => {
    const leased = new RuntimeTokens(randomBytes(32));
    const held = new Set(["entry-1:3"]);
    leased.checkLeasesWith(async (lease) => held.has(lease));
    const runtime = await leased.issue({ runId: "1", jobId: "j" }, { lease: "entry-1:3" });
    const github = await leased.issueGithubToken(
      { repository: "app", runId: "1", job: "j", contents: "read" },
      { lease: "entry-1:3" },
    );
    const unleased = await leased.issue({ runId: "1", jobId: "j" });
    expect(await leased.verify(runtime)).toEqual({ runId: "1", jobId: "j" });
    expect(await leased.verifyGithubToken(github)).toMatchObject({ repository: "app" });
    held.clear();
    expect(await leased.verify(runtime)).toBeUndefined();
    expect(await leased.verifyGithubToken(github)).toBeUndefined();
    expect(await leased.verify(unleased)).toEqual({ runId: "1", jobId: "j" });
  });

  test("ids that would break the scope are refused", async () => {
    await expect(tokens.issue({ runId: "a:b", jobId: "j" })).rejects.toThrow(/scope id/);
    expect(() => new RuntimeTokens(randomBytes(8))).toThrow(/32 bytes/);
  });
});
