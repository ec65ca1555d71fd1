/** What `uses:` names. */
export type ActionReference =
  | { readonly kind: "local"; readonly path: string }
  | { readonly kind: "docker"; readonly image: string }
  | {
      readonly kind: "remote";
      readonly owner: string;
      readonly repo: string;
      readonly path: string;
      readonly ref: string;
    };

/**
 * Parses `uses:`: `./path` (local, relative to the workspace), `docker://image`, or
 * `owner/repo[/path]@ref`. Undefined when it is none of these.
 */
export function parseActionReference(uses: string): ActionReference | undefined {
  const text = uses.trim();
  if (text.startsWith("./") || text === ".") return { kind: "local", path: text };
  if (text.startsWith("docker://"))
    return { kind: "docker", image: text.slice("docker://".length) };
  // Owner and repository names never start with a dot (so are never `.` or `..`): they
  // become paths in mirrors and the action store.
  const m =
    /^([A-Za-z0-9_-][A-Za-z0-9_.-]*)\/([A-Za-z0-9_-][A-Za-z0-9_.-]*)((?:\/[^@]+)?)@(.+)$/.exec(
      text,
    );
  if (!m) return undefined;
  const [, owner, repo, path, ref] = m as unknown as [string, string, string, string, string];
  if (path.split("/").includes("..")) return undefined;
  return { kind: "remote", owner, repo, path: path.replace(/^\//, ""), ref };
}
