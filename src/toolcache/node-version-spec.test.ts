import { describe, expect, test } from "vitest";
import {
  type NodeRelease,
  newestSatisfying,
  parseNodeVersion,
  parseNodeVersionSpec,
  satisfies,
} from "./node-version-spec.js";

function release(version: string, lts = ""): NodeRelease {
  const parsed = parseNodeVersion(version);
  if (!parsed) throw new Error(version);
  return { version: parsed, lts };
}

const RELEASES = [
  release("24.22.3", "Krypton"),
  release("25.1.0"),
  release("22.21.0", "Jod"),
  release("22.20.0", "Jod"),
  release("20.19.5", "Iron"),
  release("21.7.3"),
];

const CASES: [spec: string, version: string, expected: boolean][] = [
  ["20", "20.11.1", true],
  ["20", "21.0.0", false],
  ["20", "19.9.9", false],
  ["v20", "20.0.0", true],
  ["20.x", "20.5.0", true],
  ["20.x.x", "20.5.0", true],
  ["20.11", "20.11.9", true],
  ["20.11", "20.12.0", false],
  ["20.11.1", "20.11.1", true],
  ["20.11.1", "20.11.2", false],
  ["*", "8.0.0", true],
  [">=18", "18.0.0", true],
  [">=18", "17.9.0", false],
  [">= 18", "22.1.0", true],
  [">18", "18.9.9", false],
  [">18", "19.0.0", true],
  [">18.1", "18.1.9", false],
  [">18.1", "18.2.0", true],
  ["<20", "19.9.9", true],
  ["<20", "20.0.0", false],
  ["<=20", "20.9.9", true],
  ["<=20", "21.0.0", false],
  [">=18 <21", "20.1.0", true],
  [">=18 <21", "21.0.0", false],
  ["^18.2", "18.9.0", true],
  ["^18.2", "18.1.0", false],
  ["^18.2", "19.0.0", false],
  ["^0.12.3", "0.12.9", true],
  ["^0.12.3", "0.13.0", false],
  ["~20.1", "20.1.5", true],
  ["~20.1", "20.2.0", false],
  ["~20.1.2", "20.1.1", false],
  ["18 || 20", "20.3.0", true],
  ["18 || 20", "19.3.0", false],
  ["16 - 18", "18.20.0", true],
  ["16 - 18", "19.0.0", false],
  ["16 - 18", "15.9.0", false],
];

describe("node-version ranges", () => {
  test.each(CASES)("%s with %s: %s", (spec, version, expected) => {
    expect(satisfies(parseNodeVersionSpec(spec), release(version))).toBe(expected);
  });

  test("node, latest and current accept any release", () => {
    for (const spec of ["node", "latest", "current"]) {
      expect(satisfies(parseNodeVersionSpec(spec), release("12.0.0"))).toBe(true);
    }
  });

  test("lts/* needs an LTS release; lts/<codename> that one", () => {
    expect(satisfies(parseNodeVersionSpec("lts/*"), release("20.1.0", "Iron"))).toBe(true);
    expect(satisfies(parseNodeVersionSpec("lts/*"), release("21.1.0"))).toBe(false);
    expect(satisfies(parseNodeVersionSpec("lts/iron"), release("20.1.0", "Iron"))).toBe(true);
    expect(satisfies(parseNodeVersionSpec("lts/Hydrogen"), release("20.1.0", "Iron"))).toBe(false);
    expect(satisfies(parseNodeVersionSpec("lts/-1"), release("20.1.0", "Iron"))).toBe(true);
  });

  test.each([
    ["latest", "25.1.0"],
    ["lts/*", "24.22.3"],
    ["lts/-1", "22.21.0"],
    ["lts/-2", "20.19.5"],
    ["lts/-3", undefined],
    ["lts/jod", "22.21.0"],
    ["22.20", "22.20.0"],
    [">=20 <22", "21.7.3"],
    ["19", undefined],
  ])("of a source's releases, %s means %s", (spec, expected) => {
    expect(newestSatisfying(parseNodeVersionSpec(spec), RELEASES)?.version).toBe(expected);
  });

  test.each(["banana", "20-nightly", "lts/", "20.1.0-rc.1", ">=", "lts/iron2"])(
    "%s is refused",
    (spec) => {
      expect(() => parseNodeVersionSpec(spec)).toThrow("is not a Node.js version");
    },
  );
});
