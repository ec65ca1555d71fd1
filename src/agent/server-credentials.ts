import type { JobSpec } from "../compiler/job-spec.js";

/**
 * `ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN` for a job with `id-token: write`, which every
 * step gets (run steps fetch tokens with curl), as on GitHub; nothing for other jobs.
 */
export function idTokenEnv(
  server: { readonly resultsUrl: string; readonly idTokenRequest?: string } | undefined,
): Record<string, string> {
  if (!server?.idTokenRequest) return {};
  return {
    ACTIONS_ID_TOKEN_REQUEST_URL: `${server.resultsUrl}_oidc/token?api-version=2.0`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: server.idTokenRequest,
  };
}

/**
 * The job's spec with its credentials: `GITHUB_TOKEN` as `secrets.GITHUB_TOKEN` and
 * `github.token`, as on GitHub; every credential masked in its log like a secret. With the
 * token comes the API that takes it: `github.api_url` is the server's (where the runner
 * reached it) unless the run named one, so an action that calls the API with `github.token`
 * by default never sends it to api.github.com.
 */
export function withCredentials(
  spec: JobSpec,
  runtimeToken: string | undefined,
  server:
    | {
        readonly resultsUrl: string;
        readonly idTokenRequest?: string;
        readonly githubToken?: string;
      }
    | undefined,
): JobSpec {
  const masks = [runtimeToken, server?.idTokenRequest, server?.githubToken].filter(
    (c): c is string => c !== undefined && c !== "",
  );
  const token = server?.githubToken;
  if (!server || !token) return { ...spec, masks: [...spec.masks, ...masks] };
  const github = spec.contexts.github;
  const api =
    github.api_url === "https://api.github.com"
      ? { api_url: `${server.resultsUrl}api/v1`, graphql_url: `${server.resultsUrl}api/graphql` }
      : {};
  return {
    ...spec,
    masks: [...spec.masks, ...masks],
    contexts: {
      ...spec.contexts,
      github: { ...github, token, ...api },
      secrets: { ...spec.contexts.secrets, GITHUB_TOKEN: token },
    },
  };
}

/** What a toolkit action needs to reach a server's runtime services, as GitHub names it. */
export function serverRuntimeEnv(server: {
  readonly token: string;
  readonly resultsUrl: string;
  readonly cacheUrl: string;
}): Record<string, string> {
  return {
    ACTIONS_CACHE_URL: server.cacheUrl,
    ACTIONS_RUNTIME_URL: server.cacheUrl,
    ACTIONS_RESULTS_URL: server.resultsUrl,
    ACTIONS_RUNTIME_TOKEN: server.token,
  };
}
