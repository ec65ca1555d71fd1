import { REVIEW_POLL_MS } from "./review-wait.js";
import type { Node } from "./run-graph.js";

// Jobs held by their environment's wait timer: when the run wakes next, and waiting for it.

/**
 * When the run should look again by itself: the earliest time a queued job's wait timer runs
 * out after `now`, or the next look for reviews, if any job waits for either.
 */
export function nextWake(nodes: ReadonlyMap<string, Node>, now: number): number | undefined {
  let wake: number | undefined;
  for (const node of nodes.values())
    for (const i of node.instances) {
      if (i.state !== "queued") continue;
      // Reviews are looked for every few seconds, until the deadline.
      const at = i.awaiting
        ? Math.min(now + REVIEW_POLL_MS, i.awaiting.deadline)
        : i.notBefore !== undefined && i.notBefore > now
          ? i.notBefore
          : undefined;
      if (at !== undefined) wake = Math.min(wake ?? at, at);
    }
  return wake;
}

/** Resolves at `until` on the real clock, or at once when `signal` aborts. */
export function sleepUntil(until: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    // setTimeout takes at most 2^31-1 ms (about 24.8 days); longer waits wake early, and the
    // engine sleeps again.
    const timer = setTimeout(done, Math.min(2 ** 31 - 1, Math.max(0, until - Date.now())));
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
