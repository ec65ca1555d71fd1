/** A `GITHUB_TOKEN` scope's access. */
export type Access = "read" | "write" | "none";

/** The scopes `permissions:` may name, as GitHub documents them. */
export const PERMISSION_SCOPES = [
  "actions",
  "attestations",
  "checks",
  "contents",
  "deployments",
  "discussions",
  "id-token",
  "issues",
  "models",
  "packages",
  "pages",
  "pull-requests",
  "repository-projects",
  "security-events",
  "statuses",
] as const;

/** Every scope with its access. */
export type Permissions = Readonly<Record<(typeof PERMISSION_SCOPES)[number], Access>>;

const all = (access: Access): Permissions =>
  Object.fromEntries(PERMISSION_SCOPES.map((s) => [s, access])) as Permissions;

/**
 * The access a job's token has when no `permissions:` applies: GitHub's "restricted"
 * default, which new repositories get (contents and packages read, nothing else; `id-token`
 * is never granted without asking).
 */
export const DEFAULT_PERMISSIONS: Permissions = {
  ...all("none"),
  contents: "read",
  packages: "read",
};

/**
 * A job's effective permissions, by GitHub's rule: the job's `permissions:` if it has one,
 * else the workflow's, else {@link DEFAULT_PERMISSIONS}. `read-all` and `write-all` set every
 * scope (`write-all` includes `id-token: write`); a mapping sets the scopes it names and
 * leaves every other at `none` (`id-token: read` means none: only write fetches a token). A
 * value the parser let through that is none of these grants nothing. A fork's pull request
 * gets at most `read` of each and no `id-token`, as on GitHub. Pure.
 */
export function effectivePermissions(
  workflow: unknown,
  job: unknown,
  fromFork = false,
): Permissions {
  const asked = decide(job ?? workflow);
  if (!fromFork) return asked;
  // GitHub's rule for a fork's pull request: at most read, and never an OIDC token.
  const clamped = Object.fromEntries(
    Object.entries(asked).map(([scope, access]) => [scope, access === "write" ? "read" : access]),
  ) as Record<string, Access>;
  return { ...clamped, "id-token": "none" } as Permissions;
}

function decide(given: unknown): Permissions {
  if (given === undefined || given === null) return DEFAULT_PERMISSIONS;
  if (given === "read-all") return { ...all("read"), "id-token": "none" };
  if (given === "write-all") return all("write");
  if (typeof given !== "object" || Array.isArray(given)) return all("none");
  const out: Record<string, Access> = { ...all("none") };
  for (const [scope, access] of Object.entries(given as Record<string, unknown>)) {
    if (!(PERMISSION_SCOPES as readonly string[]).includes(scope)) continue;
    if (access === "read" || access === "write" || access === "none") out[scope] = access;
  }
  if (out["id-token"] === "read") out["id-token"] = "none";
  return out as Permissions;
}
