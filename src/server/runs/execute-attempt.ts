import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RepoConfig } from "../../config/repo-config.js";
import { executeRun, type ReusedResult } from "../../engine/run-engine.js";
import { HostExecutor } from "../../executors/host/host-executor.js";
import { resolveDispatchInputs } from "../../planner/dispatch-inputs.js";
import { ActionResolver } from "../../runner/actions/action-resolver.js";
import { archiveInto } from "../../runner/commit-files.js";
import { runJob } from "../../runner/job-runner.js";
import { writeEventFile } from "../../runner/step-env.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import { environmentSecrets, secretsForJob } from "../../secrets/secret-store.js";
import type { Store } from "../../store/open-store.js";
import { RunRecorder } from "../../store/run-recorder.js";
import type { TriggerEvent } from "../../triggers/event.js";
import type { Workflow } from "../../workflow/model.js";

/** What running an attempt needs from the server. */
export interface AttemptDependencies {
  readonly store: Store;
  readonly box: SecretBox;
  readonly dataDir: string;
  /** Most jobs of one run running at once. */
  readonly maxParallel: number;
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
  /** Results kept from the previous attempt (a re-run of failed jobs). */
  readonly reuse?: ReadonlyMap<string, ReusedResult>;
}

/**
 * Runs one attempt through the engine with the in-process host runner, recording every
 * event in the store. Each job gets a fresh workspace holding the commit, and only the
 * secrets it may see (none for a fork's pull request; an environment's only when it deploys
 * there). Resolves when the attempt has ended and everything is written.
 */
export async function executeAttempt(
  deps: AttemptDependencies,
  attempt: Attempt,
  cancel: AbortSignal,
): Promise<void> {
  const { db } = deps.store;
  const { event, workflow, bare } = attempt;
  const recorder = new RunRecorder(db, attempt.runId, attempt.attempt);
  const root = await mkdtemp(join(tmpdir(), "trunkline-server-run-"));
  const fromFork = event.fromFork === true;
  const scope = { repositoryId: attempt.repositoryId, fromFork };
  const actions = new ActionResolver({
    mirrors: [],
    cacheDir: join(deps.dataDir, "actions"),
    repoRoot: bare,
    artifactDir: join(deps.dataDir, "artifacts", attempt.runId),
    actionsCacheDir: join(deps.dataDir, "cache", attempt.repositoryId),
  });
  let n = 0;
  try {
    await executeRun(
      {
        runId: attempt.runId,
        runNumber: String(attempt.runNumber),
        runAttempt: String(attempt.attempt),
        event,
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
        execute: async (spec, jobCancel) => {
          const executor = new HostExecutor({ root: join(root, String(++n)) });
          await executor.prepare();
          await archiveInto(bare, event.sha, executor.paths.workspace);
          await writeEventFile(executor.paths, event, spec);
          return runJob(spec, {
            executor,
            sink: (e) => recorder.handle({ ...e, at: Date.now() }),
            cancel: jobCancel,
            actions,
            baseEnv: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
          });
        },
      },
    );
  } finally {
    await recorder.flush();
    await rm(root, { recursive: true, force: true });
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
