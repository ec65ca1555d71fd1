import type { TriggerEvent } from "../../triggers/event.js";
import type { WebhookIntent } from "../../triggers/webhook-event.js";
import {
  changedBetween,
  commitMessageAt,
  fetchFromRemote,
  mergeCommit,
  resolveCommit,
  updateRef,
} from "./git-source.js";
import type { RunService } from "./run-service.js";
import type { StartResult } from "./start-result.js";

/** The repository a delivery is for, as the store knows it. */
export interface WebhookRepositoryRow {
  readonly name: string;
  readonly defaultBranch: string;
  /** Where a mirrored repository is fetched from; undefined for one hosted here. */
  readonly remoteUrl?: string;
}

const BRANCHES = "refs/heads/*:refs/heads/*";
const TAGS = "refs/tags/*:refs/tags/*";

/**
 * Starts what a webhook delivery asks for. A mirrored repository first fetches the commits
 * from its remote (branches and tags; for a pull request its `refs/pull/N/head` and the base
 * branch), so the run reads workflows from the real commit. A pull request runs on the merge
 * of its head into its base (`refs/pull/N/merge`), built here as GitHub builds it; when they
 * conflict nothing runs, as on GitHub. Pull requests from forks run without secrets;
 * `pull_request_target` workflows run at the base with its secrets.
 */
export async function runWebhook(
  service: RunService,
  repo: WebhookRepositoryRow,
  intent: WebhookIntent,
  payload: Readonly<Record<string, unknown>>,
): Promise<StartResult> {
  const bare = service.bareOf(repo.name);
  const fetch = async (refspecs: readonly string[]) => {
    if (repo.remoteUrl) await fetchFromRemote(bare, repo.remoteUrl, refspecs);
  };
  switch (intent.kind) {
    case "ignored":
      return { errors: [intent.reason] };
    case "push": {
      await fetch([BRANCHES, TAGS]);
      if (!(await resolveCommit(bare, intent.after)))
        return { errors: [`push: commit ${intent.after} is not in ${repo.name}`] };
      return service.push(
        repo.name,
        { ref: intent.ref, before: intent.before, after: intent.after },
        intent.changedFiles ? { changedFiles: intent.changedFiles } : undefined,
      );
    }
    case "create":
    case "delete": {
      await fetch([BRANCHES, TAGS]);
      // `create` runs on the new ref; `delete` on the default branch, as on GitHub.
      const ref = intent.kind === "create" ? intent.ref : `refs/heads/${repo.defaultBranch}`;
      const sha = await resolveCommit(bare, ref);
      if (!sha) return { errors: [`${intent.kind}: no commit at ${ref} in ${repo.name}`] };
      return service.start(repo.name, {
        name: intent.kind,
        ref,
        sha,
        repository: repo.name,
        payload,
      });
    }
    case "workflow_dispatch":
      await fetch([BRANCHES, TAGS]);
      return service.dispatch(repo.name, {
        workflow: intent.workflow,
        ref: intent.ref,
        inputs: intent.inputs,
      });
    case "pull_request": {
      if (intent.action === "closed") return { errors: ["pull_request: closed, nothing to merge"] };
      const head = `refs/pull/${intent.number}/head`;
      await fetch([`${head}:${head}`, `refs/heads/${intent.baseRef}:refs/heads/${intent.baseRef}`]);
      const headSha = await resolveCommit(bare, intent.headSha);
      const baseSha = await resolveCommit(bare, `refs/heads/${intent.baseRef}`);
      if (!headSha || !baseSha)
        return {
          errors: [
            `pull_request #${intent.number}: ${headSha ? `no base branch ${intent.baseRef}` : `head ${intent.headSha} not found`} in ${repo.name}`,
          ],
        };
      const merge = await mergeCommit(bare, baseSha, headSha, `Merge ${headSha} into ${baseSha}`);
      if (!merge)
        return {
          errors: [
            `pull_request #${intent.number}: ${intent.headRef} does not merge cleanly into ${intent.baseRef}`,
          ],
        };
      const ref = `refs/pull/${intent.number}/merge`;
      await updateRef(bare, ref, merge);
      const changedFiles = await changedBetween(bare, baseSha, merge);
      const headCommitMessage = await commitMessageAt(bare, headSha);
      const event: TriggerEvent = {
        name: "pull_request",
        ...(headCommitMessage !== undefined ? { headCommitMessage } : {}),
        ref,
        sha: merge,
        action: intent.action,
        baseRef: intent.baseRef,
        headRef: intent.headRef,
        fromFork: intent.fromFork,
        repository: repo.name,
        ...(changedFiles ? { changedFiles } : {}),
        payload,
      };
      const merged = await service.start(repo.name, event);
      // The same delivery fires `pull_request_target` workflows, read and run at the base
      // branch's head with the base's secrets, as on GitHub: they never run the head's code
      // unless they check it out themselves (which `trunkline validate` warns about).
      const target = await service.start(repo.name, {
        name: "pull_request_target",
        ref: `refs/heads/${intent.baseRef}`,
        sha: baseSha,
        action: intent.action,
        baseRef: intent.baseRef,
        headRef: intent.headRef,
        repository: repo.name,
        ...(changedFiles ? { changedFiles } : {}),
        payload,
      });
      return combine(merged, target);
    }
  }
}

/** Two starts as one: their runs, or their errors when neither started any. */
function combine(a: StartResult, b: StartResult): StartResult {
  const runIds = [...("runIds" in a ? a.runIds : []), ...("runIds" in b ? b.runIds : [])];
  if (runIds.length > 0 || ("runIds" in a && "runIds" in b)) return { runIds };
  return { errors: [...("errors" in a ? a.errors : []), ...("errors" in b ? b.errors : [])] };
}
