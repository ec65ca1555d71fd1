import { describe, expect, test } from "vitest";
import { type ConcurrencyGroup, ConcurrencyGroups } from "./concurrency.js";

const group = (name: string, cancelInProgress = false): ConcurrencyGroup => ({
  name,
  cancelInProgress,
});
const member = (g: ConcurrencyGroup) => ({ group: g });

describe("concurrency groups, with GitHub's rules", () => {
  test("the first queued holds the group; the next waits; a third replaces the waiting one", () => {
    const groups = new ConcurrencyGroups();
    const g = group("deploy");
    const [a, b, c] = [member(g), member(g), member(g)];
    expect(groups.enqueue(a, g)).toEqual([]);
    expect(groups.canStart(a)).toBe(true);
    expect(groups.enqueue(b, g)).toEqual([]);
    expect(groups.canStart(b)).toBe(false);
    expect(groups.enqueue(c, g)).toEqual([b]);
    groups.release(b);
    groups.release(a);
    expect(groups.canStart(c)).toBe(true);
  });

  test("cancel-in-progress cancels the holder as well", () => {
    const groups = new ConcurrencyGroups();
    const g = group("deploy", true);
    const [a, b] = [member(g), member(g)];
    groups.enqueue(a, g);
    expect(groups.enqueue(b, g)).toEqual([a]);
    expect(groups.canStart(b)).toBe(false);
    groups.release(a);
    expect(groups.canStart(b)).toBe(true);
  });

  test("groups are independent, and members without a group always start", () => {
    const groups = new ConcurrencyGroups();
    const x = member(group("x"));
    const y = member(group("y"));
    groups.enqueue(x, x.group);
    groups.enqueue(y, y.group);
    expect([groups.canStart(x), groups.canStart(y), groups.canStart({})]).toEqual([
      true,
      true,
      true,
    ]);
  });
});
