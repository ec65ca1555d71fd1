import { InputError, NotFoundError } from "../../common/errors.js";

/** The two git services the endpoint serves. */
export type GitService = "upload-pack" | "receive-pack";

/**
 * What a request to the git endpoint asks for, decided from its percent-decoded path and
 * query. `git http-backend` is handed `pathInfo` and `queryString` as built here, never the
 * request's own text, so git cannot read the request differently from the access check.
 */
export interface GitRequest {
  /** The repository's name (its bare repository is `<name>.git`). */
  readonly repository: string;
  readonly service: GitService;
  /** `/<name>.git/info/refs` (the advertisement) or `/<name>.git/git-<service>` (the exchange). */
  readonly pathInfo: string;
  /** `service=git-<service>` for the advertisement, empty for the exchange. */
  readonly queryString: string;
}

/**
 * A repository name as the API accepts it: letters, digits, `.`, `_`, `-`, not starting with
 * a dot (so never `.` or `..`), at most 100 characters.
 */
export const REPOSITORY_NAME_PATTERN = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$";
const repositoryName = new RegExp(REPOSITORY_NAME_PATTERN);

const services: Readonly<Record<string, GitService>> = {
  "git-upload-pack": "upload-pack",
  "git-receive-pack": "receive-pack",
};

/**
 * Reads a request to `/git/<name>.git/...` (`url` as sent: path and query, still encoded).
 * Only git's smart protocol is served: `GET info/refs?service=git-<service>` and
 * `POST git-<service>`. Throws {@link InputError} for a path that is not one (encoded
 * separators, `.` or `..` segments, a bad repository name, an unknown or repeated service,
 * the dumb protocol, a wrong method) and {@link NotFoundError} for a path git does not serve.
 */
export function parseGitRequest(method: string, url: string): GitRequest {
  const question = url.indexOf("?");
  const rawPath = question === -1 ? url : url.slice(0, question);
  const query = new URLSearchParams(question === -1 ? "" : url.slice(question + 1));
  const segments = rawPath.split("/").slice(1).map(decodeSegment);
  const [root, folder, ...rest] = segments;
  if (root !== "git" || folder === undefined || !folder.endsWith(".git"))
    throw new NotFoundError(`no git repository at '${rawPath}': use /git/<name>.git`);
  const name = folder.slice(0, -".git".length);
  if (!repositoryName.test(name))
    throw new InputError(
      `git path: '${name}' is not a repository name (letters, digits, '.', '_', '-', not starting with '.')`,
    );
  return parseEndpoint(method, rest.join("/"), query, name, `/${name}.git`);
}

/**
 * Reads a request to `/_actions/<owner>/<repo>.git/...`, the server's store of actions that
 * agents fetch from: as {@link parseGitRequest}, with `owner/repo` as the repository and
 * `pathInfo` relative to the store's git directory. Only fetching is served.
 */
export function parseActionGitRequest(method: string, url: string): GitRequest {
  const question = url.indexOf("?");
  const rawPath = question === -1 ? url : url.slice(0, question);
  const query = new URLSearchParams(question === -1 ? "" : url.slice(question + 1));
  const [root, owner, folder, ...rest] = rawPath.split("/").slice(1).map(decodeSegment);
  if (
    root !== "_actions" ||
    owner === undefined ||
    folder === undefined ||
    !folder.endsWith(".git")
  )
    throw new NotFoundError(
      `no action repository at '${rawPath}': use /_actions/<owner>/<repo>.git`,
    );
  const repo = folder.slice(0, -".git".length);
  for (const name of [owner, repo])
    if (!repositoryName.test(name))
      throw new InputError(`git path: '${name}' is not an owner or repository name`);
  const asked = parseEndpoint(
    method,
    rest.join("/"),
    query,
    `${owner}/${repo}`,
    `/${owner}/${repo}.git`,
  );
  if (asked.service !== "upload-pack")
    throw new InputError("the action store is read-only: only git-upload-pack is served");
  return asked;
}

/** The service and CGI path of `endpoint` (`info/refs` or `git-<service>`) of the repository at `dir`. */
function parseEndpoint(
  method: string,
  endpoint: string,
  query: URLSearchParams,
  name: string,
  dir: string,
): GitRequest {
  if (endpoint === "info/refs") {
    expectMethod(method, "GET", endpoint);
    const asked = query.getAll("service");
    if (asked.length === 0)
      throw new InputError(
        "git query: 'service' is missing; only git's smart HTTP protocol is served",
      );
    if (asked.length > 1) throw new InputError("git query: 'service' is given more than once");
    const service = services[asked[0] ?? ""];
    if (!service)
      throw new InputError(
        `git query: unsupported service '${asked[0]}' (git-upload-pack or git-receive-pack)`,
      );
    return {
      repository: name,
      service,
      pathInfo: `${dir}/info/refs`,
      queryString: `service=git-${service}`,
    };
  }
  const service = services[endpoint];
  if (!service) throw new NotFoundError(`no git endpoint '${endpoint}' in ${name}.git`);
  expectMethod(method, "POST", endpoint);
  return { repository: name, service, pathInfo: `${dir}/${endpoint}`, queryString: "" };
}

/** One decoded path segment; one that decodes to a separator or a relative step is refused. */
function decodeSegment(raw: string): string {
  let segment: string;
  try {
    segment = decodeURIComponent(raw);
  } catch {
    throw new InputError(`git path: '${raw}' is not valid percent-encoding`);
  }
  if (segment === "" || segment === "." || segment === "..")
    throw new InputError(`git path: empty, '.' and '..' segments are not allowed`);
  if (/[/\\\0]/.test(segment))
    throw new InputError(`git path: '${raw}' encodes a path separator or a NUL`);
  return segment;
}

function expectMethod(method: string, expected: string, endpoint: string): void {
  if (method !== expected) throw new InputError(`git ${endpoint} takes ${expected}, not ${method}`);
}
