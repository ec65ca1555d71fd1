import { describe, expect, it } from "vitest";
import { cronMatches, explainCron } from "./cron.js";

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
