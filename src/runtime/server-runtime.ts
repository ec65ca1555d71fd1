import { createHash, hkdfSync } from "node:crypto";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { ArtifactStore } from "../runner/actions/builtin/artifact-store.js";
import { CacheStore } from "../runner/actions/builtin/cache-store.js";
import type { SecretBox } from "../secrets/secret-box.js";
import type { Database } from "../store/database.js";
import { ArtifactService } from "./artifact-service.js";
import { CacheService } from "./cache-service.js";
import { OidcIssuer } from "./oidc.js";
import { loadSigningKeys } from "./oidc-keys.js";
import { RuntimeTokens } from "./runtime-token.js";
import { originOf } from "./service-http.js";

/**
 * The runtime services a server offers every job of its runs, wherever the job runs: the
 * artifact service v4 on the server's artifact store (`<data dir>/artifacts/<run>`), so a job
 * on one agent downloads what a job on another uploaded. Its tokens and signed URLs are keyed
 * by secrets derived from the master key, so every server process sharing the store accepts
 * the tokens any of them issued, also after a restart; and the OIDC issuer of jobs with
 * `id-token: write`, whose signing keys live in the store.
 */
export class ServerRuntime {
  /** A server's runtime, its signing keys loaded from the store (made on first start). */
  static async open(
    masterKey: Uint8Array,
    dataDir: string,
    db: Kysely<Database>,
    box: SecretBox,
    issuer?: string,
  ): Promise<ServerRuntime> {
    const oidc = new OidcIssuer(await loadSigningKeys(db, box));
    return new ServerRuntime(masterKey, dataDir, oidc, issuer);
  }

  /** Issues the runtime token of each lease. */
  readonly tokens: RuntimeTokens;
  /** Answers `/twirp/...ArtifactService/*` and `/_artifacts/*`. */
  readonly artifacts: ArtifactService;
  /** Each repository's cache service, by its {@link cacheKeyOf} key. */
  private readonly caches = new Map<string, CacheService>();
  private readonly urlSecret: Uint8Array;

  constructor(
    masterKey: Uint8Array,
    private readonly dataDir: string,
    /** Signs jobs' OIDC tokens. */
    readonly oidc: OidcIssuer,
    /**
     * The OIDC issuer (`iss`), fixed: the server's URL as clouds reach it (`--server-url`).
     * Without it, the address each job reached the server at.
     */
    readonly issuer?: string,
  ) {
    const derive = (purpose: string) =>
      new Uint8Array(hkdfSync("sha256", masterKey, new Uint8Array(), purpose, 32));
    this.tokens = new RuntimeTokens(derive("trunkline runtime tokens"));
    this.urlSecret = derive("trunkline runtime urls");
    this.artifacts = new ArtifactService({
      storeFor: (runId) => new ArtifactStore(this.artifactDir(runId)),
      verify: (token) => this.tokens.verify(token),
      originOf,
      urlSecret: this.urlSecret,
    });
  }

  /**
   * The cache service of the repository whose caches live under `key` (`/_cache/<key>/`),
   * which only tokens of that repository's jobs reach; entries in `<data dir>/caches/<key>`.
   */
  cacheService(key: string): CacheService | undefined {
    if (!/^[0-9a-f]{16}$/.test(key)) return undefined;
    let service = this.caches.get(key);
    if (!service) {
      service = new CacheService(new CacheStore(join(this.dataDir, "caches", key)), {
        scope: key,
        authorize: async (token) => {
          const scope = await this.tokens.verify(token);
          if (scope?.cache !== key) return undefined;
          return { job: `${scope.runId}:${scope.jobId}`, write: scope.cacheReadOnly !== true };
        },
        urlSecret: this.urlSecret,
        baseOf: (req) => `${originOf(req)}/_cache/${key}/`,
      });
      this.caches.set(key, service);
    }
    return service;
  }

  /** Where a run's artifacts live on the server. */
  artifactDir(runId: string): string {
    if (!/^[\w.-]+$/.test(runId) || runId.startsWith(".")) {
      throw new Error(`'${runId}' is not a run id`);
    }
    return join(this.dataDir, "artifacts", runId);
  }
}

/** The key a repository's caches are kept under on a server and on its runners. Pure. */
export function cacheKeyOf(repository: string): string {
  return createHash("sha256").update(repository).digest("hex").slice(0, 16);
}
