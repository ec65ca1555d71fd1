import { InputError } from "../common/errors.js";
import type { ApiClient } from "./api-client.js";
import { fetchRun } from "./runs-commands.js";
import type { Output } from "./terminal.js";

/** A deployment of a run that waits for reviews, as the API lists it. */
interface Pending {
  readonly environment: { readonly name: string };
  readonly required_approvals: number;
  readonly current_user_can_approve: boolean;
}

/**
 * `trunkline approve RUN [--env ENV...] [--comment TEXT]` and `trunkline reject ...`: reviews
 * the run's deployments waiting for the token's review. Without `--env`, the one deployment
 * waiting is meant; with several, they must be named.
 */
export async function reviewCommand(
  api: ApiClient,
  io: Output,
  ref: string,
  state: "approved" | "rejected",
  opts: { env?: string[]; comment?: string; json?: boolean },
): Promise<number> {
  const run = await fetchRun(api, ref);
  const pending = await api.request<Pending[]>("GET", `/api/v1/runs/${run.id}/pending_deployments`);
  const waiting = pending.map((p) => p.environment.name);
  let environments = opts.env ?? [];
  if (environments.length === 0) {
    if (waiting.length !== 1)
      throw new InputError(
        waiting.length === 0
          ? `${run.workflow} #${run.number} has no deployment waiting for review`
          : `--env: ${run.workflow} #${run.number} has deployments waiting for review to ${waiting.join(", ")}; name the ones you review`,
      );
    environments = waiting;
  }
  const reviewed = await api.request<{ environment: { name: string }; state: string }[]>(
    "POST",
    `/api/v1/runs/${run.id}/pending_deployments`,
    { environments, state, comment: opts.comment ?? "" },
  );
  if (opts.json) {
    io.out(JSON.stringify(reviewed));
    return 0;
  }
  const verb = state === "approved" ? "approved" : "rejected";
  for (const r of reviewed)
    io.err(
      `trunkline: ${verb} the deployment of ${run.workflow} #${run.number} to ${r.environment.name}`,
    );
  return 0;
}
