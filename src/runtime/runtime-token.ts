import { createHash } from "node:crypto";
import { type JWTPayload, jwtVerify, SignJWT } from "jose";

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
  /** Whether the lease a token names is still held (set on a server; see {@link checkLeasesWith}). */
  private leaseHeld: ((lease: string) => Promise<boolean>) | undefined;

  constructor(secret: Uint8Array) {
    if (secret.length < 32) throw new Error("a runtime token secret has at least 32 bytes");
    this.key = secret;
  }

  /**
   * From now on, a token issued for a lease (`lease` given) is valid only while that lease is
   * held: a job's credentials end with the job, as GitHub's do, not a day later.
   */
  checkLeasesWith(held: (lease: string) => Promise<boolean>): void {
    this.leaseHeld = held;
  }

  /** A token for one job, valid for `hours` (GitHub's job limit is 6 h; a day by default). */
  async issue(scope: RuntimeScope, options: TokenOptions = {}): Promise<string> {
    for (const id of [scope.runId, scope.jobId]) {
      if (id === "" || /[:\s]/.test(id)) throw new Error(`a scope id cannot be '${id}'`);
    }
    return this.sign(
      {
        scp: `Actions.GenericRead:00000000-0000-0000-0000-000000000000 Actions.Results:${scope.runId}:${scope.jobId}`,
        ...(scope.cache ? { cache: scope.cache } : {}),
        ...(scope.cacheReadOnly ? { cacheReadOnly: true } : {}),
      },
      RUNTIME,
      options,
    );
  }

  /**
   * An `ACTIONS_ID_TOKEN_REQUEST_TOKEN`: what a job with `id-token: write` presents to get
   * OIDC tokens, carrying the claims they will hold (so the endpoint needs no lookup).
   */
  issueIdTokenRequest(claims: Record<string, string>, options: TokenOptions = {}): Promise<string> {
    return this.sign({ oidc: claims }, ID_TOKEN_REQUEST, options);
  }

  /**
   * A job's `GITHUB_TOKEN`: the server's git accepts it (as the password of any user, as
   * GitHub's `x-access-token`) for the job's repository only, with its `contents` access.
   */
  issueGithubToken(claims: GithubTokenClaims, options: TokenOptions = {}): Promise<string> {
    return this.sign({ gh: claims }, GITHUB_TOKEN, options);
  }

  /** The claims of a valid `GITHUB_TOKEN`, or undefined. */
  async verifyGithubToken(token: string): Promise<GithubTokenClaims | undefined> {
    const claims = (await this.check(token, GITHUB_TOKEN))?.gh as
      | Partial<GithubTokenClaims>
      | undefined;
    if (typeof claims?.repository !== "string" || typeof claims.contents !== "string")
      return undefined;
    return claims as GithubTokenClaims;
  }

  /** The claims of a valid ID token request token, or undefined. */
  async verifyIdTokenRequest(token: string): Promise<Record<string, string> | undefined> {
    const claims = (await this.check(token, ID_TOKEN_REQUEST))?.oidc;
    if (typeof claims !== "object" || claims === null || Array.isArray(claims)) return undefined;
    return claims as Record<string, string>;
  }

  /** The scope of a valid, unexpired token, or undefined. */
  async verify(token: string): Promise<RuntimeScope | undefined> {
    const payload = await this.check(token, RUNTIME);
    if (!payload) return undefined;
    const scope = scopeOf(String(payload.scp ?? ""));
    if (!scope || typeof payload.cache !== "string") return scope;
    const readOnly = payload.cacheReadOnly === true ? { cacheReadOnly: true } : {};
    return { ...scope, cache: payload.cache, ...readOnly };
  }

  private sign(payload: Record<string, unknown>, audience: string, options: TokenOptions) {
    return new SignJWT({ ...payload, ...(options.lease ? { lease: options.lease } : {}) })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(ISSUER)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${options.hours ?? 24}h`)
      .sign(this.key);
  }

  /** The payload of a token signed here for `audience`, unexpired, its lease (if any) held. */
  private async check(token: string, audience: string): Promise<JWTPayload | undefined> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        audience,
        algorithms: ["HS256"],
      }));
    } catch {
      return undefined;
    }
    if (typeof payload.lease === "string" && this.leaseHeld) {
      if (!(await this.leaseHeld(payload.lease).catch(() => false))) return undefined;
    }
    return payload;
  }
}

/** How a token is issued: how long it lasts at most, and the lease it ends with. */
export interface TokenOptions {
  /** @default 24 */
  readonly hours?: number;
  /** `<queue entry>:<lease token>`: the token is valid only while that lease is held. */
  readonly lease?: string;
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
