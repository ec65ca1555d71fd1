import type { Node } from "./run-graph.js";

// Jobs held by their environment's wait timer: when the run wakes next, and waiting for it.

/** The earliest time a queued job's wait timer runs out after `now`, if any job waits for one. */
export function nextWake(nodes: ReadonlyMap<string, Node>, now: number): number | undefined {
  let wake: number | undefined;
  for (const node of nodes.values())
    for (const i of node.instances)
      if (i.state === "queued" && i.notBefore !== undefined && i.notBefore > now)
        wake = Math.min(wake ?? i.notBefore, i.notBefore);
  return wake;
}

/** Resolves at `until` on the real clock, or at once when `signal` aborts. */
export function sleepUntil(until: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, until - Date.now()));
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
