import { readFile } from "node:fs/promises";
import { relative, resolve } from "node:path";
import type { ActionStore } from "../actions/action-store.js";
import { formatDiagnostic } from "../common/diagnostic.js";
import type { WorkflowLoader } from "../engine/reusable-call.js";
import { DEFAULT_INPUT_LIMITS } from "../workflow/input-limit-values.js";
import type { Workflow } from "../workflow/model.js";
import { parseWorkflowReference } from "../workflow/workflow-reference.js";
import { readWorkflowCached } from "./workflow-cache.js";

/**
 * Reads the reusable workflows a local run calls: `./.github/workflows/<file>` from the
 * workflows already read from the repository (or its file, when `-W` left it out), and
 * `<owner>/<repo>/.github/workflows/<file>@<ref>` from the action store, as remote actions
 * are. A workflow with errors is refused with them.
 */
export function calledWorkflowLoader(options: {
  readonly root: string;
  readonly known: readonly Workflow[];
  readonly store: ActionStore;
}): WorkflowLoader {
  return async (uses) => {
    const ref = parseWorkflowReference(uses);
    if (ref.kind === "invalid") throw new Error(ref.reason);
    if (ref.kind === "local") {
      const known = options.known.find((w) => w.file === ref.path);
      if (known) return known;
      return read(ref.path, await readText(options.root, ref.path, uses));
    }
    const found = await options.store.resolve(ref.owner, ref.repo, ref.ref);
    if ("error" in found) throw new Error(found.error);
    return read(
      `${ref.owner}/${ref.repo}/${ref.path}@${ref.ref}`,
      await readText(found.root, ref.path, uses),
    );
  };
}

async function readText(root: string, path: string, uses: string): Promise<string> {
  const file = resolve(root, path);
  if (relative(root, file).startsWith(".."))
    throw new Error(`'${uses}' points outside its repository`);
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) throw new Error(`no file ${path} in ${root}`);
  if (Buffer.byteLength(text) > DEFAULT_INPUT_LIMITS.maxBytes)
    throw new Error(`${path} is larger than ${DEFAULT_INPUT_LIMITS.maxBytes} bytes`);
  return text;
}

async function read(name: string, text: string): Promise<Workflow> {
  const result = await readWorkflowCached(name, text);
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (!result.workflow || errors.length > 0)
    throw new Error(`invalid workflow: ${errors.map(formatDiagnostic).join("; ")}`);
  return result.workflow;
}
