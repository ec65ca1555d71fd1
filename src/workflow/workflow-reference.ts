import { posix } from "node:path";

/** What a calling job's `uses:` names: a workflow of the same repository, or of another at a ref. */
export type WorkflowReference =
  | { readonly kind: "local"; readonly path: string }
  | {
      readonly kind: "remote";
      readonly owner: string;
      readonly repo: string;
      readonly path: string;
      readonly ref: string;
    }
  | { readonly kind: "invalid"; readonly reason: string };

// Owner and repository names never start with a dot (never `.` or `..`): they become paths.
const REMOTE =
  /^([A-Za-z0-9_-][A-Za-z0-9_.-]*)\/([A-Za-z0-9_-][A-Za-z0-9_.-]*)\/(\.github\/workflows\/[^@]+)@(.+)$/;

/**
 * Parses a reusable workflow reference as GitHub accepts it: `./.github/workflows/<file>` in
 * the same repository (at the run's commit), or `<owner>/<repo>/.github/workflows/<file>@<ref>`.
 * The file must be a `.yml` or `.yaml` directly in `.github/workflows`. Reasons do not repeat
 * the reference (the caller's message names it).
 */
export function parseWorkflowReference(uses: string): WorkflowReference {
  const text = uses.trim();
  const local = text.startsWith("./");
  const m = local ? undefined : REMOTE.exec(text);
  const path = local ? posix.normalize(text.slice(2)) : m?.[3];
  if (!path) {
    return {
      kind: "invalid",
      reason:
        "not a reusable workflow reference: use ./.github/workflows/<file>.yml or <owner>/<repo>/.github/workflows/<file>.yml@<ref>",
    };
  }
  if (posix.dirname(path) !== ".github/workflows" || !/\.ya?ml$/.test(path)) {
    return {
      kind: "invalid",
      reason: "a reusable workflow must be a .yml or .yaml file directly in .github/workflows",
    };
  }
  if (local) return { kind: "local", path };
  const [, owner, repo, , ref] = m as RegExpExecArray;
  return { kind: "remote", owner: owner ?? "", repo: repo ?? "", path, ref: ref ?? "" };
}
