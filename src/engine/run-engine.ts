import { compileJob } from "../compiler/compile-job.js";
import type { JobSpec } from "../compiler/job-spec.js";
import { configuredEnvironment } from "../config/repo-config-model.js";
import { isTruthy } from "../expressions/evaluate.js";
import { evaluateTemplate } from "../expressions/evaluate-template.js";
import type { JobResult } from "../runner/job-runner.js";
import type { JobStatus } from "../runner/runner-events.js";
import { githubContext } from "../triggers/event.js";
import type { CallJob, StepsJob } from "../workflow/model.js";
import { type ConcurrencyGroup, ConcurrencyGroups } from "./concurrency.js";
import { concurrencyOf, environmentName, gate } from "./job-gates.js";
import { instanceKey, strategyContext, strategyOf } from "./job-strategy.js";
import {
  advanceCalls,
  callEnded,
  callInstances,
  combinedStatus,
  loadCalledWorkflows,
} from "./reusable-call.js";
import { hold, reviewPass } from "./review-wait.js";
import type { RunStatus } from "./run-events.js";
import {
  addNodes,
  ancestors,
  buildNodes,
  doneInstance,
  type Instance,
  jobResults,
  keyOf,
  type Node,
  needsContext,
} from "./run-graph.js";
import type { EngineOptions, EngineWorkflow, RunRequest, RunResult } from "./run-request.js";
import { nextWake, sleepUntil } from "./wait-timers.js";
import { WorkflowGroups } from "./workflow-groups.js";

const BY_NEWER_RUN = "cancelled by a newer run in its concurrency group";
const BY_FAIL_FAST = "cancelled: another combination of its matrix failed (fail-fast)";

export type {
  EngineOptions,
  EngineWorkflow,
  ReusedResult,
  RunRequest,
  RunResult,
} from "./run-request.js";

/**
 * Runs the jobs of one or more workflows with GitHub's semantics: a job starts as soon as
 * the jobs it needs have finished (never waiting for a whole "stage"), its `if:` decided with
 * their real results; matrices expand when the job is ready (so they may read `needs`);
 * fail-fast cancels a failed matrix's siblings; concurrency groups hold or cancel jobs;
 * environments' rules hold or refuse deployments. Every state change is a {@link RunEvent}.
 */
export async function executeRun(request: RunRequest, options: EngineOptions): Promise<RunResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepUntil;
  const began = now();
  const sink = options.sink;
  const nodes = buildNodes(request);
  const called = await loadCalledWorkflows(
    request.workflows.map((w) => w.workflow),
    options.loadWorkflow,
  );
  const groups = new ConcurrencyGroups();
  const running = new Map<Instance, Promise<void>>();
  let cancelled = options.cancel.aborted;
  const onCancel = () => {
    cancelled = true;
    for (const instance of running.keys()) instance.abort.abort();
  };
  options.cancel.addEventListener("abort", onCancel, { once: true });
  sink({
    type: "run.started",
    runId: request.runId,
    workflows: request.workflows.map((w) => ({ file: w.workflow.file, name: w.workflow.name })),
    at: began,
  });

  let ended = 0;
  const finishNode = (node: Node, status: JobStatus, reason?: string, durationMs = 0) => {
    node.status = status;
    node.endedAs = ++ended;
    if (reason) node.reason = reason;
    const name = node.job.id;
    sink({
      type: "job.finished",
      job: node.key,
      name,
      workflow: node.wf.workflow.file,
      status,
      ...(reason ? { reason } : {}),
      durationMs,
      outputs: node.outputs,
      at: now(),
    });
  };

  const decide = (node: Node) => {
    const needs = needsContext(node, nodes);
    const contexts = { github: githubOf(node.wf), inputs: node.wf.inputs, vars: vars(), needs };
    const needStatuses = node.job.needs.map((n) => nodes.get(keyOf(node.wf, n.value))?.status);
    const failedAncestor = ancestors(node, nodes).some((a) => a.status === "failure");
    let run: boolean;
    try {
      run = isTruthy(
        evaluateTemplate({ kind: "expr", expr: node.job.if }, contexts, {
          success: () => !cancelled && needStatuses.every((s) => s === "success"),
          failure: () => failedAncestor,
          cancelled: () => cancelled,
        }),
      );
    } catch (err) {
      finishNode(node, "failure", `if: ${(err as Error).message}`);
      return;
    }
    if (!run) {
      finishNode(node, cancelled ? "cancelled" : "skipped");
      return;
    }
    if (node.job.kind === "call") call(node, node.job, contexts);
    else expand(node, node.job, contexts);
  };

  /** The secrets a job of this workflow has, before its environment's. */
  const secretsOf = (wf: EngineWorkflow) => wf.caller?.secrets ?? request.secrets;

  /** The `github` context of a workflow's jobs: a called workflow's is its root caller's. */
  const githubOf = (wf: EngineWorkflow) =>
    githubContext(request.event, wf.caller?.root ?? wf.workflow, {
      id: request.runId,
      number: request.runNumber ?? "1",
      attempt: request.runAttempt ?? "1",
    });
  const vars = () => ({ ...request.config.variables, ...request.vars });

  /** Starts a job that calls a reusable workflow: its called jobs join the run. */
  const call = (node: Node, job: CallJob, contexts: Record<string, unknown>) => {
    const prepared = callInstances(node, job, contexts, called, secretsOf(node.wf));
    if ("reason" in prepared) {
      finishNode(node, prepared.status, prepared.reason);
      return;
    }
    node.failFast = prepared.failFast;
    node.maxParallel = prepared.maxParallel;
    node.calledAt = now();
    node.calls = prepared.calls;
  };

  /** A matrix of calls goes on as its strategy says: started up to max-parallel, fail-fast. */
  const advance = (node: Node) =>
    advanceCalls(node, cancelled, {
      start: (c) => {
        c.jobs = addNodes(nodes, c.wf, request.reuse);
      },
      cancel: (c) => cancelUnder(`${c.key} / `, BY_FAIL_FAST),
    });

  /** Ends every job whose key starts with `prefix`: running ones are stopped, others end. */
  const cancelUnder = (prefix: string, reason: string) => {
    for (const n of nodes.values()) {
      if (n.status || !n.key.startsWith(prefix)) continue;
      for (const c of n.calls ?? []) if (!c.started) c.cancelled = true;
      if (n.instances.length > 0) for (const i of n.instances) cancelInstance(i, reason);
      else if (!n.calls) finishNode(n, "cancelled", reason);
    }
  };

  /** Ends a calling job whose called jobs have all ended, with their result and outputs. */
  const settleCall = (node: Node): boolean => {
    if (node.status || !node.calls) return false;
    const ended = callEnded(node.calls, (wf) => ({ github: githubOf(wf), vars: vars() }));
    if (!ended) return false;
    Object.assign(node.outputs, ended.outputs);
    finishNode(node, ended.status, ended.reason, now() - (node.calledAt ?? now()));
    return true;
  };

  const expand = (
    node: Node,
    job: StepsJob,
    contexts: {
      github: Record<string, unknown>;
      inputs: Readonly<Record<string, unknown>>;
      vars: Record<string, string>;
      needs: Record<string, unknown>;
    },
  ) => {
    const strategy = strategyOf(job, contexts, options.matrixFilter);
    if (strategy.kind !== "ok") {
      finishNode(node, strategy.kind === "empty" ? "skipped" : "failure", strategy.reason);
      return;
    }
    node.failFast = strategy.failFast;
    node.maxParallel = strategy.maxParallel;
    const combos = strategy.combos;
    combos.forEach((combo, index) => {
      const key = instanceKey(job.id, combo);
      const ctx = {
        ...contexts,
        matrix: combo ?? {},
        strategy: strategyContext(index, combos.length, node.failFast, node.maxParallel),
      };
      let envName: string | undefined;
      let spec: JobSpec;
      let group: ConcurrencyGroup | undefined;
      try {
        envName = environmentName(job, ctx);
        const environment = envName
          ? { name: envName, vars: configuredEnvironment(request.config, envName)?.variables ?? {} }
          : undefined;
        spec = compileJob({
          runId: request.runId,
          workflow: node.wf.workflow,
          job,
          key,
          ...(node.wf.caller ? { keyPrefix: node.wf.caller.key } : {}),
          contexts: {
            ...ctx,
            secrets: {
              ...secretsOf(node.wf),
              ...(envName ? request.environmentSecrets?.[envName] : undefined),
            },
            needs: contexts.needs as JobSpec["contexts"]["needs"],
          },
          ...(environment ? { environment } : {}),
          ...(request.event.fromFork ? { fromFork: true } : {}),
        });
        group = concurrencyOf(job.concurrency, ctx);
      } catch (err) {
        node.instances.push(doneInstance(node, keyOf(node.wf, key), key, "failure"));
        sink({
          type: "job.finished",
          job: keyOf(node.wf, key),
          name: key,
          workflow: node.wf.workflow.file,
          status: "failure",
          reason: (err as Error).message,
          durationMs: 0,
          outputs: {},
          at: now(),
        });
        return;
      }
      const verdict = envName ? gate(envName, request, options) : undefined;
      const refusal = verdict && "status" in verdict ? verdict : undefined;
      const unrunnable = options.unrunnable(spec.runsOn);
      if (refusal || unrunnable) {
        const status = refusal?.status ?? "failure";
        node.instances.push(doneInstance(node, spec.key, spec.name, status));
        sink({
          type: "job.finished",
          job: spec.key,
          name: spec.name,
          workflow: node.wf.workflow.file,
          status,
          reason: refusal?.reason ?? unrunnable,
          durationMs: 0,
          outputs: {},
          at: now(),
        });
        return;
      }
      const instance: Instance = {
        node,
        key: spec.key,
        name: spec.name,
        spec,
        abort: new AbortController(),
        ...(group ? { group } : {}),
        continueOnError: spec.continueOnError,
        state: "queued",
      };
      node.instances.push(instance);
      sink({
        type: "job.queued",
        job: instance.key,
        name: instance.name,
        workflow: node.wf.workflow.file,
        at: now(),
      });
      if (verdict && !("status" in verdict)) hold(instance, verdict, options, now(), sink);
      if (group) {
        for (const victim of groups.enqueue(instance, group)) cancelInstance(victim as Instance);
      }
    });
    settleNode(node);
  };

  const cancelInstance = (instance: Instance, reason = BY_NEWER_RUN) => {
    if (instance.state === "running") instance.abort.abort();
    else endQueued(instance, "cancelled", reason);
  };

  /** Ends a job that has not started (cancelled, or refused by its reviewers). */
  const endQueued = (instance: Instance, status: JobStatus, reason: string) => {
    if (instance.state === "queued") {
      instance.state = "done";
      instance.status = status;
      groups.release(instance);
      sink({
        type: "job.finished",
        job: instance.key,
        name: instance.name,
        workflow: instance.node.wf.workflow.file,
        status,
        reason,
        durationMs: 0,
        outputs: {},
        at: now(),
      });
      settleNode(instance.node);
    }
  };

  /** When every instance of a node is done, the node's result is theirs combined. */
  const settleNode = (node: Node) => {
    if (node.status || node.instances.some((i) => i.state !== "done")) return;
    const statuses = node.instances.map((i) =>
      i.status === "failure" && i.continueOnError ? "success" : i.status,
    );
    node.status = combinedStatus(statuses);
    node.endedAs = ++ended;
  };

  const start = (instance: Instance) => {
    const spec = instance.spec;
    if (!spec) return; // ended before it could start: never queued
    instance.state = "running";
    const startedAt = now();
    sink({ type: "job.started", job: instance.key, name: instance.name, at: startedAt });
    const promise = options
      .execute(spec, instance.abort.signal)
      .catch(
        (err: unknown): JobResult => ({
          status: "failure",
          outputs: {},
          reason: `internal error: ${(err as Error).message}`,
        }),
      )
      .then((result) => {
        instance.state = "done";
        instance.status = result.status;
        groups.release(instance);
        running.delete(instance);
        Object.assign(instance.node.outputs, result.outputs);
        sink({
          type: "job.finished",
          job: instance.key,
          name: instance.name,
          workflow: instance.node.wf.workflow.file,
          status: result.status,
          ...(result.reason ? { reason: result.reason } : {}),
          durationMs: now() - startedAt,
          outputs: result.outputs,
          at: now(),
        });
        if (result.status === "failure" && !instance.continueOnError && instance.node.failFast) {
          for (const sibling of instance.node.instances)
            if (sibling !== instance) cancelInstance(sibling, BY_FAIL_FAST);
        }
        settleNode(instance.node);
      });
    running.set(instance, promise);
  };

  const workflowGroups = new WorkflowGroups(
    request.workflows,
    (wf) => {
      try {
        return concurrencyOf(wf.workflow.concurrency, {
          github: githubOf(wf),
          inputs: wf.inputs,
          vars: vars(),
        });
      } catch {
        return undefined;
      }
    },
    (wf) => cancelUnder(`${wf.workflow.file} / `, BY_NEWER_RUN),
  );

  for (;;) {
    // Jobs waiting for reviews hear the reviews given since the last pass.
    if (options.reviews && !cancelled)
      await reviewPass(nodes, options.reviews, now(), sink, endQueued);
    // A called workflow may itself call one: settle from the inside out.
    while ([...nodes.values()].some((n) => advance(n) || settleCall(n)));
    workflowGroups.releaseFinished(nodes);
    for (const node of nodes.values()) {
      if (node.status || node.instances.length > 0 || node.calls) continue;
      if (!workflowGroups.canStart(node.wf)) continue;
      const needs = node.job.needs.map((n) => nodes.get(keyOf(node.wf, n.value)));
      if (needs.every((n) => n?.status !== undefined)) decide(node);
    }
    for (const node of nodes.values()) {
      for (const instance of node.instances) {
        if (instance.state !== "queued") continue;
        if (cancelled) {
          cancelInstance(instance, "the run was cancelled");
          continue;
        }
        if (instance.awaiting) continue;
        if (instance.notBefore !== undefined && instance.notBefore > now()) continue;
        if (running.size >= options.maxParallel) break;
        const active = node.instances.filter((i) => i.state === "running").length;
        if (active >= node.maxParallel) continue;
        if (instance.group && !groups.canStart(instance)) {
          const detail = `waiting for concurrency group '${instance.group.name}'`;
          if (instance.waitingSaid !== detail) {
            instance.waitingSaid = detail;
            sink({
              type: "job.waiting",
              job: instance.key,
              reason: "concurrency",
              detail,
              at: now(),
            });
          }
          continue;
        }
        start(instance);
      }
    }
    // Called jobs may have joined or all ended in this pass (skipped, refused): go round
    // again before waiting on what runs.
    if ([...nodes.values()].some((n) => advance(n) || settleCall(n))) continue;
    // The next wait timer to run out, if a job waits for one.
    const wake = cancelled ? undefined : nextWake(nodes, now());
    if (running.size === 0 && wake !== undefined) {
      await sleep(wake, options.cancel);
      continue;
    }
    if (running.size === 0) {
      const undecided = [...nodes.values()].filter((n) => !n.status);
      const progress = undecided.some(
        (n) =>
          n.instances.length === 0 &&
          !n.calls &&
          n.job.needs.every((x) => nodes.get(keyOf(n.wf, x.value))?.status),
      );
      if (undecided.length === 0) break;
      if (!progress) {
        for (const n of undecided)
          finishNode(n, "cancelled", "could not start: waiting on something that will not happen");
        break;
      }
      continue;
    }
    if (wake === undefined) await Promise.race(running.values());
    else {
      const woken = new AbortController();
      // One listener per wait, taken off after it: not a signal per pass left on the run's.
      const onCancel = () => woken.abort();
      options.cancel.addEventListener("abort", onCancel, { once: true });
      await Promise.race([...running.values(), sleep(wake, woken.signal)]);
      options.cancel.removeEventListener("abort", onCancel);
      woken.abort();
    }
  }
  options.cancel.removeEventListener("abort", onCancel);
  const status: RunStatus = cancelled
    ? "cancelled"
    : [...nodes.values()].some((n) => n.status === "failure")
      ? "failure"
      : "success";
  sink({
    type: "run.finished",
    runId: request.runId,
    status,
    durationMs: now() - began,
    at: now(),
  });
  return { status, jobs: jobResults(nodes) };
}
