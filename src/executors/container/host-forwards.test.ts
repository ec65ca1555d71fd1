import { describe, expect, test } from "vitest";
import { isLoopbackOrigin, rewriteOrigins } from "./host-forwards.js";

describe("isLoopbackOrigin", () => {
  test.each([
    ["http://127.0.0.1:8080", true],
    ["http://127.1.2.3", true],
    ["http://localhost:3000", true],
    ["http://[::1]:3000", true],
    ["https://ci.example.com", false],
    ["http://192.0.2.2:8080", false],
    ["http://127.0.0.1.example.com", false],
    ["not a url", false],
  ])("%s: %s", (origin, loopback) => {
    expect(isLoopbackOrigin(origin)).toBe(loopback);
  });
});

describe("rewriteOrigins", () => {
  const map = new Map([
    ["http://127.0.0.1:80", "http://10.89.0.1:40001"],
    ["http://127.0.0.1:8080", "http://10.89.0.1:40002"],
  ]);
  test.each([
    ["http://127.0.0.1:8080/", "http://10.89.0.1:40002/"],
    ["http://127.0.0.1:80/_oidc/token?x=1", "http://10.89.0.1:40001/_oidc/token?x=1"],
    ["http://127.0.0.1:80", "http://10.89.0.1:40001"],
    ["http://127.0.0.1:8081/", "http://127.0.0.1:8081/"],
    ["http://127.0.0.1:80.evil/", "http://127.0.0.1:80.evil/"],
    [
      "a http://127.0.0.1:80/ and http://127.0.0.1:8080/",
      "a http://10.89.0.1:40001/ and http://10.89.0.1:40002/",
    ],
    ["/github/workspace", "/github/workspace"],
  ])("%s", (value, expected) => {
    expect(rewriteOrigins({ V: value }, map)).toEqual({ V: expected });
  });

  test("nothing to rewrite: a copy of the environment", () => {
    const env = { A: "http://127.0.0.1:80/" };
    const out = rewriteOrigins(env, new Map());
    expect(out).toEqual(env);
    expect(out).not.toBe(env);
  });
});
