import { randomUUID } from "node:crypto";
import { type JWK, SignJWT } from "jose";
import type { JobSpec } from "../compiler/job-spec.js";
import { OIDC_ALGORITHM, type SigningKey } from "./oidc-keys.js";

/** How long an OIDC token is valid, and how far back `nbf` reaches, as GitHub's (s). */
const LIFETIME_S = 300;
const SKEW_S = 600;

/**
 * The claims of a job's OIDC tokens, as GitHub's: `sub` by GitHub's default template
 * (`repo:<repo>:environment:<name>` for a job with an environment, `repo:<repo>:pull_request`
 * for pull requests, else `repo:<repo>:ref:<ref>`), and the run's facts (repository, ref, sha,
 * run id, number and attempt, actor, workflow and its ref, event, environment). `iss`, `aud`,
 * the times and `jti` are added when a token is issued. Pure.
 */
export function oidcClaims(spec: JobSpec): Record<string, string> {
  const g = spec.contexts.github;
  const text = (key: string) => (g[key] === undefined || g[key] === null ? "" : String(g[key]));
  const repository = text("repository");
  const event = text("event_name");
  const environment = spec.environment?.name;
  const sub = environment
    ? `repo:${repository}:environment:${environment}`
    : event === "pull_request" || event === "pull_request_target"
      ? `repo:${repository}:pull_request`
      : `repo:${repository}:ref:${text("ref")}`;
  const workflowRef = text("workflow_ref");
  return {
    sub,
    repository,
    repository_owner: text("repository_owner"),
    ref: text("ref"),
    ref_type: text("ref_type"),
    ref_protected: "false",
    sha: text("sha"),
    head_ref: text("head_ref"),
    base_ref: text("base_ref"),
    event_name: event,
    actor: text("actor"),
    triggering_actor: text("triggering_actor"),
    workflow: text("workflow"),
    workflow_ref: workflowRef,
    workflow_sha: text("sha"),
    job_workflow_ref: workflowRef,
    job_workflow_sha: text("sha"),
    run_id: text("run_id"),
    run_number: text("run_number"),
    run_attempt: text("run_attempt"),
    runner_environment: "self-hosted",
    ...(environment ? { environment } : {}),
  };
}

/**
 * Signs jobs' OIDC tokens with the server's oldest signing key (RS256, its `kid` in the
 * header) and publishes every key, as GitHub's `token.actions.githubusercontent.com` does.
 */
export class OidcIssuer {
  constructor(private readonly keys: readonly SigningKey[]) {
    if (keys.length === 0) throw new Error("an OIDC issuer needs a signing key");
  }

  /** `/.well-known/jwks`: the public keys. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /** `/.well-known/openid-configuration` of the issuer at `issuer`. */
  configuration(issuer: string) {
    return {
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks`,
      subject_types_supported: ["public", "pairwise"],
      response_types_supported: ["id_token"],
      claims_supported: [
        "sub",
        "aud",
        "exp",
        "iat",
        "iss",
        "jti",
        "nbf",
        "ref",
        "repository",
        "repository_owner",
        "run_id",
        "run_number",
        "run_attempt",
        "actor",
        "workflow",
        "event_name",
        "ref_type",
        "environment",
        "job_workflow_ref",
        "sha",
        "runner_environment",
      ],
      id_token_signing_alg_values_supported: [OIDC_ALGORITHM],
      scopes_supported: ["openid"],
    };
  }

  /** A token with `claims`, issued by `issuer` for `audience`, valid for five minutes. */
  async issue(claims: Record<string, string>, issuer: string, audience: string): Promise<string> {
    const key = this.keys[0] as SigningKey;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: OIDC_ALGORITHM, typ: "JWT", kid: key.kid })
      .setJti(randomUUID())
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setNotBefore(now - SKEW_S)
      .setExpirationTime(now + LIFETIME_S)
      .sign(key.privateKey);
  }
}
