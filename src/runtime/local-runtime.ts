import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import { ArtifactStore } from "../runner/actions/builtin/artifact-store.js";
import { CacheStore } from "../runner/actions/builtin/cache-store.js";
import { ArtifactService } from "./artifact-service.js";
import { CacheService } from "./cache-service.js";
import { OidcIssuer } from "./oidc.js";
import { OIDC_ALGORITHM } from "./oidc-keys.js";
import { bearerToken, type RuntimeScope, RuntimeTokens } from "./runtime-token.js";
import { originOf, send } from "./service-http.js";

/** The runtime services of a local run or of one agent's job, on a loopback port of their own. */
export interface LocalRuntime {
  /** Where the services listen (`http://127.0.0.1:<port>`): the origin of every URL in {@link envFor}. */
  readonly origin: string;
  /**
   * What the node actions of one job get to reach the services (`ACTIONS_CACHE_URL`,
   * `ACTIONS_RESULTS_URL`, `ACTIONS_RUNTIME_URL`, `ACTIONS_RUNTIME_TOKEN`, for actions only),
   * with a token of that job's run and job; the run's artifacts live in `artifactDir`.
   */
  envFor(scope: RuntimeScope, artifactDir: string): Promise<Record<string, string>>;
  /**
   * `ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN` for a job with `id-token: write`: OIDC tokens
   * holding `claims`, signed by a key of this runtime alone (made on first use), whose JWKS
   * and discovery document this runtime serves.
   */
  idTokenEnv(claims: Record<string, string>): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/**
 * Starts GitHub's runtime services on a loopback port: the cache service (`@actions/cache`)
 * on the repository's cache store, which the built-in `actions/cache` uses too, and the
 * artifact service v4 (`@actions/artifact`) on each run's artifact store, which the built-in
 * upload and download actions use. Tokens are JWTs under a secret of this runtime alone.
 */
export async function startLocalRuntime(cacheDir: string): Promise<LocalRuntime> {
  const tokens = new RuntimeTokens(randomBytes(32));
  const urlSecret = randomBytes(32);
  const artifactDirs = new Map<string, string>();
  let cache: CacheService | undefined;
  let artifacts: ArtifactService | undefined;
  let oidc: Promise<OidcIssuer> | undefined;
  const issuer = () => {
    oidc ??= ephemeralIssuer();
    return oidc;
  };
  const fail = (res: import("node:http").ServerResponse) => () => {
    if (!res.headersSent) res.writeHead(500).end();
    else res.destroy();
  };
  let origin = "";
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    if (cache && path.startsWith("/cache/")) {
      void cache.handle(req, res, path.slice("/cache".length)).catch(fail(res));
    } else if (artifacts && ArtifactService.handles(path)) {
      void artifacts.handle(req, res).catch(fail(res));
    } else if (path.startsWith("/_oidc/") || path.startsWith("/.well-known/")) {
      void answerOidc(req, res, origin, tokens, issuer).catch(fail(res));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // A run that ends by an error does not wait for it.
  server.unref();
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cache = new CacheService(new CacheStore(cacheDir), {
    scope: "local",
    authorize: async (token) => {
      const scope = await tokens.verify(token);
      return scope ? { job: `${scope.runId}:${scope.jobId}`, write: true } : undefined;
    },
    urlSecret,
    // URLs lead back the way the request came (a job container's forward, say).
    baseOf: (req) => `${originOf(req)}/cache/`,
  });
  artifacts = new ArtifactService({
    storeFor: (runId) => {
      const dir = artifactDirs.get(runId);
      // Only runs this runtime issued tokens for reach here, so a dir is always known.
      if (dir === undefined) throw new Error(`no artifact store for run ${runId}`);
      return new ArtifactStore(dir);
    },
    verify: (token) => tokens.verify(token),
    originOf,
    urlSecret,
  });
  return {
    origin,
    envFor: async (scope, artifactDir) => {
      artifactDirs.set(scope.runId, artifactDir);
      return {
        ACTIONS_CACHE_URL: `${origin}/cache/`,
        ACTIONS_RUNTIME_URL: `${origin}/cache/`,
        ACTIONS_RESULTS_URL: `${origin}/`,
        ACTIONS_RUNTIME_TOKEN: await tokens.issue(scope),
      };
    },
    idTokenEnv: async (claims) => ({
      ACTIONS_ID_TOKEN_REQUEST_URL: `${origin}/_oidc/token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: await tokens.issueIdTokenRequest(claims),
    }),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await cache?.close();
      await artifacts?.close();
    },
  };
}

/** An OIDC issuer with a key made now, kept in memory only: a local run's. */
async function ephemeralIssuer(): Promise<OidcIssuer> {
  const { privateKey, publicKey } = await generateKeyPair(OIDC_ALGORITHM, { extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: OIDC_ALGORITHM, use: "sig" };
  return new OidcIssuer([{ kid, privateKey, publicJwk }]);
}

/** The OIDC endpoints of a local runtime: the token, the discovery document and the JWKS. */
async function answerOidc(
  req: IncomingMessage,
  res: ServerResponse,
  origin: string,
  tokens: RuntimeTokens,
  issuer: () => Promise<OidcIssuer>,
): Promise<void> {
  const url = new URL(req.url ?? "/", origin);
  if (url.pathname === "/.well-known/jwks") return send(res, 200, (await issuer()).jwks());
  if (url.pathname === "/.well-known/openid-configuration")
    return send(res, 200, (await issuer()).configuration(origin));
  if (url.pathname !== "/_oidc/token") return send(res, 404, { message: "no such endpoint" });
  const claims = await tokens.verifyIdTokenRequest(bearerToken(req.headers.authorization) ?? "");
  if (!claims) {
    return send(res, 401, {
      message: "a valid ACTIONS_ID_TOKEN_REQUEST_TOKEN is required (permissions: id-token: write)",
    });
  }
  const audience = url.searchParams.get("audience") || `${origin}/${claims.repository_owner ?? ""}`;
  return send(res, 200, {
    count: 1,
    value: await (await issuer()).issue(claims, origin, audience),
  });
}
