import type { AgentLease, AgentTransport } from "../../agent/agent-protocol.js";
import type { QueueRunner } from "../../queue/job-queue.js";
import type { JobDispatch } from "./job-dispatch.js";

/** The queue's id for the embedded runner of a server process. */
export function embeddedRunnerId(serverId: string): string {
  return `embedded:${serverId}`;
}

/** How long the embedded runner waits in one claim before it looks again. */
const CLAIM_WAIT_MS = 30_000;

/** The embedded runner's way to the dispatch: direct calls, in this process. */
export function embeddedTransport(dispatch: JobDispatch, runner: QueueRunner): AgentTransport {
  const held = (lease: AgentLease) => ({
    entryId: lease.entryId,
    runnerId: runner.id,
    token: lease.token,
  });
  return {
    claim: (signal) => dispatch.claim(runner, CLAIM_WAIT_MS, signal),
    send: async (lease, seq, events) => (await dispatch.send(held(lease), seq, events)) === "ok",
    heartbeat: (lease) => dispatch.heartbeat(held(lease)),
    complete: (lease, result, final) =>
      dispatch.complete(held(lease), result, {
        ...(final.events.length > 0 ? { final } : {}),
        sent: final.seq,
      }),
  };
}
