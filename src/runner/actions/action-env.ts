import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parseKeyValueFile } from "../file-command.js";
import type { StepOutput } from "../step-output.js";
import type { ActionRequest } from "./action-host.js";

/** What {@link actionEnv} reads of a resolved action. */
export interface ActionIdentity {
  readonly dir: string;
  readonly repository: string;
  readonly ref: string;
}

/**
 * `INPUT_*`, the `GITHUB_ACTION_*` variables and the runtime services' of an action's processes
 * (node and Docker actions alike, as on GitHub; a job container's executor forwards them).
 */
export function actionEnv(
  action: ActionIdentity,
  request: ActionRequest,
  inputs: Record<string, string>,
  runtimeEnv: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const env: Record<string, string> = {
    ...runtimeEnv,
    GITHUB_ACTION: request.step.id,
    GITHUB_ACTION_PATH: action.dir,
    GITHUB_ACTION_REPOSITORY: action.repository,
    GITHUB_ACTION_REF: action.ref,
  };
  for (const [name, value] of Object.entries(inputs))
    env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] = value;
  return env;
}

/** Adds what a script saved (`GITHUB_STATE`, or the deprecated `::save-state::`) to `state`. */
export async function readState(
  env: Readonly<Record<string, string>>,
  output: StepOutput,
  state: Record<string, string>,
): Promise<void> {
  const file = env.GITHUB_STATE;
  if (file && existsSync(file)) {
    for (const [k, v] of parseKeyValueFile(await readFile(file, "utf8")).pairs) state[k] = v;
  }
  Object.assign(state, output.state);
}

/** A node action's saved state as its later scripts get it: `STATE_<name>`. */
export function stateEnv(state: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
}
