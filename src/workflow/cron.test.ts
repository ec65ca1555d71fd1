import { describe, expect, it } from "vitest";
import { cronMatches, explainCron, nextCronTime } from "./cron.js";

const at = (iso: string) => new Date(iso);

describe("cronMatches", () => {
  it.each([
    ["* * * * *", "2026-11-26T12:34:00Z", true],
    ["30 5 * * *", "2026-11-26T05:30:00Z", true],
    ["30 5 * * *", "2026-11-26T05:31:00Z", false],
    ["*/15 * * * *", "2026-11-26T05:45:00Z", true],
    ["*/15 * * * *", "2026-11-26T05:50:00Z", false],
    ["5/20 * * * *", "2026-11-26T05:45:00Z", true],
    ["5/20 * * * *", "2026-11-26T05:40:00Z", false],
    ["0 9-17/4 * * *", "2026-11-26T13:00:00Z", true],
    ["0 9-17/4 * * *", "2026-11-26T15:00:00Z", false],
    ["0 0 * * MON-FRI", "2026-11-26T00:00:00Z", true], // a Thursday
    ["0 0 * * SAT,SUN", "2026-11-26T00:00:00Z", false],
    ["0 0 1 JAN *", "2027-01-01T00:00:00Z", true],
    ["0 0 1 * *", "2026-11-26T00:00:00Z", false],
    // both day fields restricted: either matches (POSIX)
    ["0 0 1 * THU", "2026-11-26T00:00:00Z", true],
    ["0 0 26 * MON", "2026-11-26T00:00:00Z", true],
    ["0 0 2 * MON", "2026-11-26T00:00:00Z", false],
    // read in UTC, whatever the server's zone
    ["0 23 * * *", "2026-11-26T23:00:00+00:00", true],
  ])("'%s' at %s: %s", (cron, when, expected) => {
    expect(explainCron(cron)).toBeUndefined();
    expect(cronMatches(cron, at(when))).toBe(expected);
  });
});

describe("nextCronTime", () => {
  it.each([
    ["*/15 * * * *", "2026-11-26T05:44:10Z", "2026-11-26T05:45:00.000Z"],
    ["*/15 * * * *", "2026-11-26T05:45:00Z", "2026-11-26T06:00:00.000Z"],
    ["30 5 * * *", "2026-11-26T05:31:00Z", "2026-11-27T05:30:00.000Z"],
    ["0 0 * * MON", "2026-11-26T12:00:00Z", "2026-11-30T00:00:00.000Z"],
    ["0 0 1 JAN *", "2026-11-26T12:00:00Z", "2027-01-01T00:00:00.000Z"],
    ["0 12 29 2 *", "2026-11-26T12:00:00Z", "2028-02-29T12:00:00.000Z"],
  ])("'%s' after %s: %s", (cron, after, expected) => {
    const next = nextCronTime(cron, new Date(after));
    expect(next?.toISOString()).toBe(expected);
    if (next) expect(cronMatches(cron, next)).toBe(true);
  });

  it("says never for a date that does not exist", () => {
    expect(nextCronTime("0 0 30 2 *", new Date("2026-11-26T00:00:00Z"))).toBeUndefined();
  });
});
