import { describe, expect, test } from "vitest";
import type { EnvironmentConfig } from "../config/repo-config.js";
import { approvalDetail, type Review, reviewRefusal, reviewState } from "./approval-policy.js";

const env = (over: Partial<EnvironmentConfig> = {}): EnvironmentConfig => ({
  name: "production",
  reviewers: ["maintainer", "tech-lead"],
  requiredApprovals: 2,
  waitTimer: 0,
  allowSelfReview: true,
  variables: {},
  ...over,
});

describe("who may review", () => {
  test.each([
    ["a maintainer, as a role entry", { name: "bob", role: "maintainer" }, undefined, undefined],
    ["an admin outranks a maintainer entry", { name: "root", role: "admin" }, undefined, undefined],
    [
      "a named user, whatever the role",
      { name: "Tech-Lead", role: "viewer" },
      undefined,
      undefined,
    ],
    [
      "a developer is not a reviewer",
      { name: "dave", role: "developer" },
      undefined,
      "dave (developer) is not a reviewer of environment 'production'; its reviewers are maintainer, tech-lead",
    ],
    [
      "the run's trigger, where self-review is allowed",
      { name: "bob", role: "maintainer" },
      "bob",
      undefined,
    ],
  ])("%s", (_, who, triggeredBy, refusal) => {
    expect(reviewRefusal(env(), who, triggeredBy)).toBe(refusal);
  });

  test("allow-self-review: false refuses the run's trigger, not others", () => {
    const strict = env({ allowSelfReview: false });
    expect(reviewRefusal(strict, { name: "bob", role: "maintainer" }, "bob")).toBe(
      "bob triggered this run, and environment 'production' prevents self-review (allow-self-review: false)",
    );
    expect(reviewRefusal(strict, { name: "carol", role: "maintainer" }, "bob")).toBeUndefined();
  });
});

describe("what the reviews decide", () => {
  const r = (state: Review["state"], actor: string, environment = "production"): Review => ({
    environment,
    state,
    actor,
    comment: "",
    at: 1,
  });
  test.each([
    ["none yet", [], { kind: "pending", have: 0, need: 2 }],
    ["one of two", [r("approved", "bob")], { kind: "pending", have: 1, need: 2 }],
    [
      "the same reviewer twice counts once",
      [r("approved", "bob"), r("approved", "bob")],
      { kind: "pending", have: 1, need: 2 },
    ],
    [
      "another environment's do not count",
      [r("approved", "bob"), r("approved", "carol", "staging")],
      { kind: "pending", have: 1, need: 2 },
    ],
    [
      "two reviewers",
      [r("approved", "bob"), r("approved", "carol")],
      { kind: "approved", by: ["bob", "carol"] },
    ],
    [
      "any rejection rejects",
      [r("approved", "bob"), r("rejected", "carol"), r("approved", "dan")],
      { kind: "rejected", by: "carol", comment: "" },
    ],
  ])("%s", (_, reviews, state) => {
    expect(reviewState(env(), reviews as Review[])).toEqual(state);
  });

  test("what a waiting job says", () => {
    expect(approvalDetail(env(), 1)).toBe(
      "waiting for approval to deploy to 'production' (1 of 2: maintainer, tech-lead)",
    );
  });
});

describe("names are people, whatever their case", () => {
  test("a trigger who writes their name otherwise is still refused under allow-self-review: false", () => {
    const strict = env({ allowSelfReview: false, reviewers: ["Tech-Lead"] });
    expect(reviewRefusal(strict, { name: "tech-lead", role: "viewer" }, " TECH-LEAD ")).toContain(
      "prevents self-review",
    );
  });

  test("two tokens of one name, in two cases, are one approval", () => {
    const reviews: Review[] = ["alice", "Alice"].map((actor) => ({
      environment: "production",
      state: "approved",
      actor,
      comment: "",
      at: 1,
    }));
    expect(reviewState(env(), reviews)).toEqual({ kind: "pending", have: 1, need: 2 });
  });

  test("a role entry written in capitals is the role, not a user of that name", () => {
    const admins = env({ reviewers: ["Admin"], requiredApprovals: 1 });
    expect(reviewRefusal(admins, { name: "admin", role: "viewer" }, undefined)).toContain(
      "is not a reviewer",
    );
    expect(reviewRefusal(admins, { name: "root", role: "admin" }, undefined)).toBeUndefined();
  });
});
