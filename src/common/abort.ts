/** A signal that aborts when another does or when a time is up, and the way to stop its timer. */
export interface TimedSignal {
  readonly signal: AbortSignal;
  /** Stops the timer and stops following the other signal: call it once the work is over. */
  clear(): void;
}

/**
 * Aborts when `signal` does (with its reason) or after `ms` (with a `TimeoutError`, as
 * `AbortSignal.timeout`), for as long as the returned signal is in use.
 *
 * Not `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: in Node 20 a composite signal
 * holds its sources only through weak references, and a timeout signal's timer holds its
 * signal weakly too, so a timeout signal nothing else references is garbage-collected and
 * the composite never aborts (nodejs/node#57736). Here the timer holds the controller.
 */
export function abortAfter(signal: AbortSignal, ms: number): TimedSignal {
  const controller = new AbortController();
  const follow = () => controller.abort(signal.reason);
  const timer = setTimeout(
    () =>
      controller.abort(
        new DOMException("The operation was aborted due to timeout", "TimeoutError"),
      ),
    ms,
  );
  // Like AbortSignal.timeout's, the timer alone does not keep the process alive.
  timer.unref();
  if (signal.aborted) follow();
  else signal.addEventListener("abort", follow, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", follow);
    },
  };
}
