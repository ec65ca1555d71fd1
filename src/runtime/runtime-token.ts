import { createHash } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";

/** Whose token it is: the run and the job a runtime service answers for. */
export interface RuntimeScope {
  readonly runId: string;
  readonly jobId: string;
  /** The repository whose caches the job may use (a server's key for it), when it has one. */
  readonly cache?: string;
  /** The job may restore the repository's caches but not save (a fork's pull request). */
  readonly cacheReadOnly?: boolean;
}

/** The JWT issuer of runtime tokens. */
const ISSUER = "trunkline";

/** The audiences that keep the two kinds of token apart: neither passes for the other. */
const RUNTIME = "trunkline:runtime";
const ID_TOKEN_REQUEST = "trunkline:id-token-request";
const GITHUB_TOKEN = "trunkline:github-token";

/** What a job's `GITHUB_TOKEN` may do: its repository on the server, with `contents` access. */
export interface GithubTokenClaims {
  /** The server's name of the run's repository. */
  readonly repository: string;
  readonly runId: string;
  /** The job's key, for the server's log. */
  readonly job: string;
  /** The `contents` permission: fetch with `read`, push too with `write`. */
  readonly contents: "read" | "write" | "none";
  /** The `actions` permission: read the repository's runs with `read`, start and cancel with `write`. */
  readonly actions?: "read" | "write" | "none";
}

/**
 * Issues and checks `ACTIONS_RUNTIME_TOKEN`s: JWTs signed with HS256 under one secret (the
 * run's for a local run, the server's for server jobs), whose `scp` claim holds GitHub's
 * `Actions.Results:<run>:<job>` scope, which `@actions/artifact` reads to name the run and
 * job in its requests. The runtime services trust only what the signature covers.
 */
export class RuntimeTokens {
  private readonly key: Uint8Array;

  constructor(secret: Uint8Array) {
    if (secret.length < 32) throw new Error("a runtime token secret has at least 32 bytes");
    this.key = secret;
  }

  /** A token for one job, valid for `hours` (GitHub's job limit is 6 h; a day by default). */
  async issue(scope: RuntimeScope, hours = 24): Promise<string> {
    for (const id of [scope.runId, scope.jobId]) {
      if (id === "" || /[:\s]/.test(id)) throw new Error(`a scope id cannot be '${id}'`);
    }
    return new SignJWT({
      scp: `Actions.GenericRead:00000000-0000-0000-0000-000000000000 Actions.Results:${scope.runId}:${scope.jobId}`,
      ...(scope.cache ? { cache: scope.cache } : {}),
      ...(scope.cacheReadOnly ? { cacheReadOnly: true } : {}),
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(ISSUER)
      .setAudience(RUNTIME)
      .setIssuedAt()
      .setExpirationTime(`${hours}h`)
      .sign(this.key);
  }

  /**
   * An `ACTIONS_ID_TOKEN_REQUEST_TOKEN`: what a job with `id-token: write` presents to get
   * OIDC tokens, carrying the claims they will hold (so the endpoint needs no lookup).
   */
  async issueIdTokenRequest(claims: Record<string, string>, hours = 24): Promise<string> {
    return new SignJWT({ oidc: claims })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(ISSUER)
      .setAudience(ID_TOKEN_REQUEST)
      .setIssuedAt()
      .setExpirationTime(`${hours}h`)
      .sign(this.key);
  }

  /**
   * A job's `GITHUB_TOKEN`: the server's git accepts it (as the password of any user, as
   * GitHub's `x-access-token`) for the job's repository only, with its `contents` access.
   */
  async issueGithubToken(claims: GithubTokenClaims, hours = 24): Promise<string> {
    return new SignJWT({ gh: claims })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(ISSUER)
      .setAudience(GITHUB_TOKEN)
      .setIssuedAt()
      .setExpirationTime(`${hours}h`)
      .sign(this.key);
  }

  /** The claims of a valid `GITHUB_TOKEN`, or undefined. */
  async verifyGithubToken(token: string): Promise<GithubTokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        audience: GITHUB_TOKEN,
        algorithms: ["HS256"],
      });
      const claims = payload.gh as Partial<GithubTokenClaims> | undefined;
      if (typeof claims?.repository !== "string" || typeof claims.contents !== "string")
        return undefined;
      return claims as GithubTokenClaims;
    } catch {
      return undefined;
    }
  }

  /** The claims of a valid ID token request token, or undefined. */
  async verifyIdTokenRequest(token: string): Promise<Record<string, string> | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        audience: ID_TOKEN_REQUEST,
        algorithms: ["HS256"],
      });
      const claims = payload.oidc;
      if (typeof claims !== "object" || claims === null || Array.isArray(claims)) return undefined;
      return claims as Record<string, string>;
    } catch {
      return undefined;
    }
  }

  /** The scope of a valid, unexpired token, or undefined. */
  async verify(token: string): Promise<RuntimeScope | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        audience: RUNTIME,
        algorithms: ["HS256"],
      });
      const scope = scopeOf(String(payload.scp ?? ""));
      if (!scope || typeof payload.cache !== "string") return scope;
      const readOnly = payload.cacheReadOnly === true ? { cacheReadOnly: true } : {};
      return { ...scope, cache: payload.cache, ...readOnly };
    } catch {
      return undefined;
    }
  }
}

/** The run and job of an `scp` claim's `Actions.Results` part, or undefined. Pure. */
export function scopeOf(scp: string): RuntimeScope | undefined {
  for (const part of scp.split(" ")) {
    const [kind, runId, jobId, ...rest] = part.split(":");
    if (kind === "Actions.Results" && runId && jobId && rest.length === 0) return { runId, jobId };
  }
  return undefined;
}

/** The bearer token of an `Authorization` header, or undefined. Pure. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer (\S+)$/i.exec(header ?? "");
  return match?.[1];
}

/** A job's key (which may hold spaces and colons) as an id a scope can carry. Pure. */
export function scopeId(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 32);
}
