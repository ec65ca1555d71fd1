import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { expect, test } from "vitest";
import { abortAfter } from "./abort.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const aborted = (signal: AbortSignal) =>
  new Promise<unknown>((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
  });

test("the time is up even when a garbage collection ran before (AbortSignal.any loses it)", async () => {
  const timed = abortAfter(new AbortController().signal, 300);
  const reason = aborted(timed.signal);
  await new Promise((r) => setTimeout(r, 50));
  gc();
  const never = new Promise((r) => setTimeout(() => r(new DOMException("never", "None")), 3000));
  expect(((await Promise.race([reason, never])) as DOMException).name).toBe("TimeoutError");
});

test("the other signal's abort comes through with its reason, and clear stops the timer", async () => {
  const cancel = new AbortController();
  const timed = abortAfter(cancel.signal, 60_000);
  cancel.abort("cancelled");
  expect(await aborted(timed.signal)).toBe("cancelled");

  const other = new AbortController();
  const cleared = abortAfter(other.signal, 50);
  cleared.clear();
  other.abort("late");
  await new Promise((r) => setTimeout(r, 100));
  expect(cleared.signal.aborted).toBe(false);
});

test("an already aborted signal aborts at once", () => {
  expect(abortAfter(AbortSignal.abort("gone"), 60_000).signal.reason).toBe("gone");
});
