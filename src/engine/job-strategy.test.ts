import { describe, expect, test } from "vitest";
import type { Job } from "../workflow/model.js";
import { type MatrixFilter, strategyOf } from "./job-strategy.js";

const job = {
  id: "test",
  kind: "steps",
  strategy: {
    kind: "map",
    entries: [
      [
        "matrix",
        {
          kind: "map",
          entries: [
            [
              "node",
              { kind: "seq", items: [18, 20, 22].map((value) => ({ kind: "number", value })) },
            ],
            [
              "os",
              { kind: "seq", items: ["linux", "mac"].map((value) => ({ kind: "string", value })) },
            ],
          ],
        },
      ],
    ],
  },
} as unknown as Job;

describe("--matrix picks legs", () => {
  test.each<[MatrixFilter, string[]]>([
    [{}, ["18 linux", "18 mac", "20 linux", "20 mac", "22 linux", "22 mac"]],
    [{ node: ["20"] }, ["20 linux", "20 mac"]],
    [{ node: ["18", "22"], os: ["linux"] }, ["18 linux", "22 linux"]],
    [{ arch: ["arm"] }, ["18 linux", "18 mac", "20 linux", "20 mac", "22 linux", "22 mac"]],
  ])("%j", (filter, legs) => {
    const strategy = strategyOf(job, {}, filter);
    expect(strategy.kind).toBe("ok");
    if (strategy.kind === "ok")
      expect(strategy.combos.map((c) => `${c?.node} ${c?.os}`)).toEqual(legs);
  });

  test("a filter that leaves no leg skips the job, saying why", () => {
    expect(strategyOf(job, {}, { node: ["16"] })).toEqual({
      kind: "empty",
      reason: "--matrix node:16 leaves none of its 6 combinations",
    });
  });
});
