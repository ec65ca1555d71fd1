import { type ConcurrencyGroup, ConcurrencyGroups } from "./concurrency.js";
import type { EngineWorkflow } from "./run-engine.js";
import type { Node, WorkflowMember } from "./run-graph.js";

/**
 * Workflow-level concurrency within a run: a workflow's jobs wait while another workflow of
 * the run holds its group; a newer one with cancel-in-progress cancels the older. A
 * workflow holds its group until every job of it has ended.
 */
export class WorkflowGroups {
  private readonly groups = new ConcurrencyGroups();
  private readonly members = new Map<EngineWorkflow, WorkflowMember>();

  /**
   * Queues the run's workflows in order; `groupOf` evaluates a workflow's `concurrency:`
   * (undefined when it has none or it cannot be evaluated), `cancel` ends a workflow a newer
   * one displaces.
   */
  constructor(
    workflows: readonly EngineWorkflow[],
    groupOf: (wf: EngineWorkflow) => ConcurrencyGroup | undefined,
    cancel: (wf: EngineWorkflow) => void,
  ) {
    for (const wf of workflows) {
      const group = groupOf(wf);
      const member: WorkflowMember = { wf, released: false, ...(group ? { group } : {}) };
      this.members.set(wf, member);
      if (group)
        for (const victim of this.groups.enqueue(member, group))
          cancel((victim as WorkflowMember).wf);
    }
  }

  /** Whether the jobs of `wf` may start (a called workflow's always may: its caller held). */
  canStart(wf: EngineWorkflow): boolean {
    const member = this.members.get(wf);
    return !member || this.groups.canStart(member);
  }

  /** Frees the groups of workflows whose jobs have all ended. */
  releaseFinished(nodes: ReadonlyMap<string, Node>): void {
    for (const member of this.members.values()) {
      if (member.released || !member.group) continue;
      if ([...nodes.values()].every((n) => n.wf !== member.wf || n.status)) {
        member.released = true;
        this.groups.release(member);
      }
    }
  }
}
