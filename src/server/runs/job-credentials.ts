import type { JobSource } from "../../agent/agent-protocol.js";
import type { JobSpec } from "../../compiler/job-spec.js";
import { oidcClaims } from "../../runtime/oidc.js";
import { type RuntimeTokens, scopeId } from "../../runtime/runtime-token.js";
import { cacheKeyOf } from "../../runtime/server-runtime.js";

/**
 * A job's runtime credentials: its runtime token, its `GITHUB_TOKEN` for a repository the
 * server hosts, and for `id-token: write` the token that buys OIDC tokens holding its claims.
 * Each is valid while `lease` (`<queue entry>:<lease token>`) is held, and for the job's
 * timeout at most.
 */
export async function jobRuntime(
  tokens: RuntimeTokens,
  spec: JobSpec,
  source: JobSource,
  lease: string,
) {
  const options = { lease, hours: Math.ceil(spec.timeoutMinutes / 60) + 1 };
  // Caches belong to the repository: one store on the server, whichever runner runs the job.
  const cache = cacheKeyOf(source.name ?? source.repository);
  const token = await tokens.issue(
    {
      runId: spec.runId,
      jobId: scopeId(spec.key),
      cache,
      // A fork's pull request restores the repository's caches but cannot poison them.
      ...(spec.fromFork ? { cacheReadOnly: true } : {}),
    },
    options,
  );
  const contents = spec.permissions?.contents ?? "read";
  const githubToken = source.name
    ? await tokens.issueGithubToken(
        {
          repository: source.name,
          runId: spec.runId,
          job: spec.key,
          contents,
          actions: spec.permissions?.actions ?? "none",
        },
        options,
      )
    : undefined;
  const idTokenRequest =
    spec.permissions?.["id-token"] === "write"
      ? await tokens.issueIdTokenRequest(oidcClaims(spec), options)
      : undefined;
  return {
    token,
    cachePath: `_cache/${cache}/`,
    ...(githubToken ? { githubToken } : {}),
    ...(idTokenRequest ? { idTokenRequest } : {}),
  };
}
