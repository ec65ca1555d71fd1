import { describe, expect, test } from "vitest";
import {
  compileNamePattern,
  matchesPath,
  mayMatchBelow,
  parseGlobPattern,
  parseGlobPatterns,
  pathSegments,
} from "./glob-pattern.js";

const WS = "/w/s[1]";

function matches(pattern: string, path: string, isDirectory = false): boolean {
  return matchesPath(parseGlobPattern(pattern, WS, "/home/u"), pathSegments(path), isDirectory);
}

describe("glob patterns", () => {
  test.each([
    ["dist/*.js", `${WS}/dist/a.js`, true],
    ["dist/*.js", `${WS}/dist/sub/a.js`, false],
    ["dist/**/*.js", `${WS}/dist/a.js`, true],
    ["dist/**/*.js", `${WS}/dist/x/y/a.js`, true],
    ["**", `${WS}/anything/at/all`, true],
    ["*", `${WS}/.hidden`, true],
    ["file?.txt", `${WS}/file1.txt`, true],
    ["file?.txt", `${WS}/file10.txt`, false],
    ["[ab].txt", `${WS}/b.txt`, true],
    ["[!ab].txt", `${WS}/b.txt`, false],
    ["a\\*.txt", `${WS}/a*.txt`, true],
    ["a\\*.txt", `${WS}/ab.txt`, false],
    ["./x/../y", `${WS}/y`, true],
    ["/abs/file", "/abs/file", true],
    ["~/.npm", "/home/u/.npm", true],
  ])("%s matches %s: %s", (pattern, path, expected) => {
    expect(matches(pattern, path)).toBe(expected);
  });

  test("the base path is literal, even with wildcard characters in it", () => {
    expect(matches("x", "/w/s1/x")).toBe(false);
    expect(parseGlobPattern("x/*.js", WS, undefined).searchPath).toBe(`${WS}/x`);
  });

  test("a trailing slash matches directories only", () => {
    expect(matches("out/", `${WS}/out`, false)).toBe(false);
    expect(matches("out/", `${WS}/out`, true)).toBe(true);
  });

  test("the search path stops before the first wildcard segment", () => {
    expect(parseGlobPattern("a/b/*/c", WS, undefined).searchPath).toBe(`${WS}/a/b`);
    expect(parseGlobPattern("!a/b", WS, undefined)).toMatchObject({
      negate: true,
      searchPath: `${WS}/a/b`,
    });
  });

  test("comment lines are skipped", () => {
    expect(parseGlobPatterns(["# note", "a"], WS, undefined)).toHaveLength(1);
  });

  test("~ without a home is a user error", () => {
    expect(() => parseGlobPattern("~/x", WS, undefined)).toThrow("HOME is not set");
  });

  test("mayMatchBelow prunes directories no pattern can reach", () => {
    const pattern = parseGlobPattern("src/**/*.ts", WS, undefined);
    expect(mayMatchBelow(pattern, pathSegments(`${WS}/src/deep`))).toBe(true);
    expect(mayMatchBelow(pattern, pathSegments(`${WS}/node_modules`))).toBe(false);
  });

  test("name patterns skip names starting with a dot unless asked", () => {
    expect(compileNamePattern("*")(".hidden")).toBe(false);
    expect(compileNamePattern(".*")(".hidden")).toBe(true);
    expect(compileNamePattern("app-*")("app-linux")).toBe(true);
  });
});
