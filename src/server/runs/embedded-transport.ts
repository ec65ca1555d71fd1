import type { AgentTransport } from "../../agent/agent-protocol.js";
import type { QueueRunner } from "../../queue/job-queue.js";
import type { JobDispatch } from "./job-dispatch.js";

/** The embedded runner's id in the queue. */
export const EMBEDDED = "embedded";

/** How long the embedded runner waits in one claim before it looks again. */
const CLAIM_WAIT_MS = 30_000;

/** The embedded runner's way to the dispatch: direct calls, in this process. */
export function embeddedTransport(dispatch: JobDispatch, runner: QueueRunner): AgentTransport {
  return {
    claim: (signal) => dispatch.claim(runner, CLAIM_WAIT_MS, signal),
    send: async (lease, seq, events) => {
      const answer = await dispatch.send(lease.entryId, lease.token, seq, events);
      if (answer === "later") throw new Error("the server is not running this job's run yet");
      return answer === "ok";
    },
    heartbeat: (lease) => dispatch.heartbeat(lease.entryId, lease.token),
    complete: (lease, result) => dispatch.complete(lease.entryId, lease.token, result),
  };
}
