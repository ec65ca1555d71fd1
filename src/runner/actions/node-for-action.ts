import type { NodeRuntimes } from "../../toolcache/node-runtimes.js";
import type { ActionManifest } from "../../workflow/read-action.js";
import type { StepOutput } from "../step-output.js";

/**
 * The Node an action's scripts run on: the major its `runs.using` names, from the runtime
 * cache. As on GitHub, node12 and node16 actions run on Node 20 with a warning, and node20
 * ones on Node 24 when `FORCE_JAVASCRIPT_ACTIONS_TO_NODE24` is `true`. Without a runtime
 * cache, the Node running Trunkline.
 */
export async function nodeFor(
  action: { readonly manifest: ActionManifest; readonly repository: string },
  runtimes: NodeRuntimes | undefined,
  env: Readonly<Record<string, string>>,
  output: StepOutput,
): Promise<string | { error: string }> {
  const runs = action.manifest.runs;
  if (!runtimes || runs.using !== "node") return process.execPath;
  let major = Number(runs.version.replace(/^node/, ""));
  if (major < 20) {
    output.annotate({
      level: "warning",
      message: `${action.repository || "The action"} uses ${runs.version}, which is no longer run: it runs on Node 20 instead. Update the action to one using node20 or node24.`,
    });
    major = 20;
  }
  if (major === 20 && env.FORCE_JAVASCRIPT_ACTIONS_TO_NODE24 === "true") major = 24;
  try {
    return await runtimes.binary(major, (line) => output.note(line));
  } catch (err) {
    return { error: (err as Error).message };
  }
}
