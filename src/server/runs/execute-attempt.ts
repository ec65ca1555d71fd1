import { basename } from "node:path";
import type { RepoConfig } from "../../config/repo-config.js";
import { reviewsOf } from "../../deploy/approvals.js";
import { executeRun, type ReusedResult } from "../../engine/run-engine.js";
import { reviewState } from "../../planner/approval-policy.js";
import { resolveDispatchInputs } from "../../planner/dispatch-inputs.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import { environmentSecrets, secretsForJob } from "../../secrets/secret-store.js";
import { waitTimersOf } from "../../store/event-log.js";
import type { Store } from "../../store/open-store.js";
import { RunRecorder } from "../../store/run-recorder.js";
import type { TriggerEvent } from "../../triggers/event.js";
import type { Workflow } from "../../workflow/model.js";
import { calledWorkflowsAt } from "./git-source.js";
import type { JobDispatch } from "./job-dispatch.js";

/** What running an attempt needs from the server. */
export interface AttemptDependencies {
  readonly store: Store;
  readonly box: SecretBox;
  /** Most jobs of one run running at once. */
  readonly maxParallel: number;
  /** Where jobs go to be run: the queue, taken by the embedded runner or by agents. */
  readonly dispatch: JobDispatch;
  /** What jobs see as `github.server_url` (`serve --server-url`); GitHub's by default. */
  readonly serverUrl?: string;
}

/** One attempt of one run of one workflow. */
export interface Attempt {
  readonly runId: string;
  readonly runNumber: number;
  readonly attempt: number;
  readonly repositoryId: string;
  /** The bare repository the commit is read from. */
  readonly bare: string;
  readonly workflow: Workflow;
  readonly event: TriggerEvent;
  readonly config: RepoConfig;
  /** Results kept from the previous attempt (a re-run of failed jobs), or of this one (a resume). */
  readonly reuse?: ReadonlyMap<string, ReusedResult>;
  /** Carries on an attempt a stopped server was running: its rows and logs go on. */
  readonly resume?: boolean;
}

/**
 * Runs one attempt through the engine, its jobs handed to runners through the queue, every
 * event recorded in the store. Each job's spec holds only the secrets it may see (none for a
 * fork's pull request; an environment's only when it deploys there); its runner builds a
 * fresh workspace from the commit. Resolves when the attempt has ended and is written.
 */
export async function executeAttempt(
  deps: AttemptDependencies,
  attempt: Attempt,
  cancel: AbortSignal,
): Promise<void> {
  const { db } = deps.store;
  const { event, workflow, bare } = attempt;
  const recorder = attempt.resume
    ? await RunRecorder.resume(db, attempt.runId, attempt.attempt)
    : new RunRecorder(db, attempt.runId, attempt.attempt);
  const fromFork = event.fromFork === true;
  const scope = { repositoryId: attempt.repositoryId, fromFork };
  // A resumed attempt's wait timers go on from when they were started, not from now.
  const waits = attempt.resume ? await waitTimersOf(db, attempt.runId) : undefined;
  let reviews = await reviewsOf(db, attempt.runId, attempt.attempt);

  try {
    await executeRun(
      {
        runId: attempt.runId,
        runNumber: String(attempt.runNumber),
        runAttempt: String(attempt.attempt),
        event: deps.serverUrl ? { ...event, serverUrl: deps.serverUrl } : event,
        workflows: [{ workflow, inputs: dispatchInputs(workflow, event) }],
        config: attempt.config,
        vars: attempt.config.variables,
        secrets: await secretsForJob(db, deps.box, scope),
        environmentSecrets: await environmentSecrets(db, deps.box, scope),
        ...(attempt.reuse ? { reuse: attempt.reuse } : {}),
      },
      {
        maxParallel: deps.maxParallel,
        sink: (e) => recorder.handle(e),
        cancel,
        approved: () => false,
        unrunnable: () => undefined,
        ...(waits
          ? {
              timerUntil: (job: string) => waits.timers.get(job),
              approvalDeadline: (job: string) => waits.deadlines.get(job),
            }
          : {}),
        // Deployments wait for their reviewers, who review through the API (any server).
        reviews: {
          state: (env) => reviewState(env, reviews),
          refresh: async () => {
            reviews = await reviewsOf(db, attempt.runId, attempt.attempt);
          },
        },
        loadWorkflow: calledWorkflowsAt(bare, event.sha),
        execute: (spec, jobCancel) =>
          deps.dispatch.execute(
            {
              runId: attempt.runId,
              attempt: attempt.attempt,
              resumed: attempt.resume === true,
              source: { repository: bare, sha: event.sha, name: basename(bare, ".git") },
              sink: (e) => recorder.handle(e),
              settle: () => recorder.flush(),
            },
            spec,
            jobCancel,
          ),
      },
    );
  } finally {
    await recorder.flush();
  }
}

/** A dispatched run's typed inputs (planning already refused bad ones). */
function dispatchInputs(workflow: Workflow, event: TriggerEvent): Record<string, unknown> {
  if (event.name !== "workflow_dispatch") return {};
  const resolved = resolveDispatchInputs(
    workflow.on.workflow_dispatch?.inputs ?? [],
    event.inputs ?? {},
  );
  return resolved.ok ? { ...resolved.inputs } : {};
}
