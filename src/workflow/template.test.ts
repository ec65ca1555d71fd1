import { describe, expect, test } from "vitest";
import { literalValue, resolveTemplate, type Template } from "./template.js";

const str = (value: string): Template => ({ kind: "string", value });
const expr = (e: string): Template => ({ kind: "expr", expr: e });

/** Resolves `x` to a mapping, `name` to "os", `list` to a list: enough to try every key form. */
const contexts: Record<string, unknown> = { x: { color: ["red"] }, name: "os", list: [1] };
const resolve = (e: string) => contexts[e];

describe("mapping keys given by expressions", () => {
  test.each<[string, Template, unknown]>([
    ["a plain key", { kind: "map", entries: [["node", str("20")]] }, { node: "20" }],
    [
      "an expression key takes its value as the key",
      { kind: "map", entries: [["${{ name }}", str("a"), { expr: "name" }]] },
      { os: "a" },
    ],
    [
      "${{ insert }} merges its mapping, in place",
      {
        kind: "map",
        entries: [
          ["node", str("20")],
          ["${{ insert }}", expr("x"), { insert: true }],
        ],
      },
      { node: "20", color: ["red"] },
    ],
  ])("%s", (_, template, expected) => {
    expect(resolveTemplate(template, resolve)).toEqual(expected);
  });

  test("${{ insert }} of something else than a mapping, or a key that is not a scalar, is refused", () => {
    const insert: Template = {
      kind: "map",
      entries: [["${{ insert }}", expr("list"), { insert: true }]],
    };
    expect(() => resolveTemplate(insert, resolve)).toThrow(
      "${{ insert }} needs a mapping, not [1]",
    );
    const key: Template = { kind: "map", entries: [["${{ x }}", str("a"), { expr: "x" }]] };
    expect(() => resolveTemplate(key, resolve)).toThrow("a mapping key must be a string");
  });

  test("__proto__ is a key like any other, from the file, an expression or an insert", () => {
    const fromFile = resolveTemplate({ kind: "map", entries: [["__proto__", str("a")]] }, resolve);
    expect(Object.keys(fromFile as object)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(fromFile)).toBe(Object.prototype);
    const inserted = resolveTemplate(
      { kind: "map", entries: [["${{ insert }}", expr("evil"), { insert: true }]] },
      (e) => (e === "evil" ? JSON.parse('{"__proto__": {"polluted": true}}') : undefined),
    ) as Record<string, unknown>;
    expect(Object.keys(inserted)).toEqual(["__proto__"]);
    expect((inserted as { polluted?: boolean }).polluted).toBeUndefined();
  });

  test("a mapping with an expression key is not a literal", () => {
    expect(
      literalValue({ kind: "map", entries: [["${{ name }}", str("a"), { expr: "name" }]] }),
    ).toBeUndefined();
  });
});
