import { describe, expect, test } from "vitest";
import { type KeyValueFileResult, parseKeyValueFile, parsePathFile } from "./file-command.js";

const ok = (...pairs: [string, string][]): KeyValueFileResult => ({ pairs });
const failed = (error: string, ...pairs: [string, string][]): KeyValueFileResult => ({
  pairs,
  error,
});

const KEY_VALUE: [title: string, text: string, expected: KeyValueFileResult][] = [
  ["empty file", "", ok()],
  ["NAME=VALUE lines", "A=1\nB=2\n", ok(["A", "1"], ["B", "2"])],
  ["no final line break", "A=1", ok(["A", "1"])],
  ["split at the first =", "A=b=c", ok(["A", "b=c"])],
  ["empty value", "A=\n", ok(["A", ""])],
  ["empty lines are skipped", "\n\nA=1\n\n\nB=2", ok(["A", "1"], ["B", "2"])],
  ["nothing is trimmed", "A = 1 \n", ok(["A ", " 1 "])],
  ["a name set twice comes twice", "A=1\nA=2\n", ok(["A", "1"], ["A", "2"])],
  ["= before << is NAME=VALUE", "a=b<<c\n", ok(["a", "b<<c"])],
  ["<< before = is a heredoc", "a<<b=c\nx\nb=c\n", ok(["a", "x"])],
  ["multi-line heredoc", "A<<EOF\nl1\nl2\n\nl4\nEOF\n", ok(["A", "l1\nl2\n\nl4"])],
  ["delimiter on the last line", "A<<EOF\nx\nEOF", ok(["A", "x"])],
  ["empty heredoc", "A<<EOF\nEOF\n", ok(["A", ""])],
  // The value ends before the break that precedes the delimiter, so one empty line is "".
  ["one empty line", "A<<EOF\n\nEOF\n", ok(["A", ""])],
  ["two empty lines", "A<<EOF\n\n\nEOF\n", ok(["A", "\n"])],
  ["heredoc then NAME=VALUE", "A<<EOF\nx\nEOF\nB=2\n", ok(["A", "x"], ["B", "2"])],
  ["the delimiter is text, not a pattern", "A<<.*\nx\n.*\n", ok(["A", "x"])],
  [
    "unicode names and values",
    "GRÜSSE=こんにちは 🌍\nE<<終わり\nπ≈3.14\n😀\n終わり\n",
    ok(["GRÜSSE", "こんにちは 🌍"], ["E", "π≈3.14\n😀"]),
  ],
  ["a byte order mark is ignored", "\uFEFFA=1\n", ok(["A", "1"])],
  // Off Windows only LF ends a line: CR stays in values and delimiters.
  ["CRLF keeps the CR", "A=1\r\nB=2\r\n", ok(["A", "1\r"], ["B", "2\r"])],
  ["CRLF heredoc keeps the CR", "A<<EOF\r\nx\r\ny\r\nEOF\r\n", ok(["A", "x\r\ny\r"])],
  [
    "a CR after the delimiter is not the delimiter",
    "A<<EOF\nx\nEOF\r\n",
    failed("Invalid value. Matching delimiter not found 'EOF'"),
  ],
  ["a CR line is not empty", "A=1\n\r\nB=2\n", failed("Invalid format '\r'", ["A", "1"])],
  // Errors, in the runner's words; the pairs before the error are still applied.
  ["neither form", "NOPE\n", failed("Invalid format 'NOPE'")],
  ["stops at the first error", "A=1\nNOPE\nB=2\n", failed("Invalid format 'NOPE'", ["A", "1"])],
  ["empty name", "=1\n", failed("Invalid format '=1'. Name must not be empty")],
  [
    "empty heredoc name",
    "<<EOF\nx\nEOF\n",
    failed("Invalid format '<<EOF'. Name must not be empty and delimiter must not be empty"),
  ],
  [
    "empty delimiter",
    "A<<\n\n",
    failed("Invalid format 'A<<'. Name must not be empty and delimiter must not be empty"),
  ],
  ["missing delimiter", "A<<EOF\nx\n", failed("Invalid value. Matching delimiter not found 'EOF'")],
  ["heredoc at the end", "A<<EOF", failed("Invalid value. Matching delimiter not found 'EOF'")],
  [
    "value without final line break",
    "A<<EOF\nx",
    failed("Invalid value. EOF marker missing new line."),
  ],
  // Injection: only a line that is exactly the delimiter ends a value.
  ["NAME=VALUE inside a heredoc stays value", "A<<EOF\nOTHER=1\nEOF\n", ok(["A", "OTHER=1"])],
  [
    "lines that only contain the delimiter stay value",
    "A<<EOF\nxEOF\nEOF \n EOF\nEOFx\neof\na<<EOF\nB=2 EOF\nEOF\n",
    ok(["A", "xEOF\nEOF \n EOF\nEOFx\neof\na<<EOF\nB=2 EOF"]),
  ],
  [
    "a nested heredoc is value, and its delimiter ends the outer one",
    "A<<EOF\nB<<EOF\nx\nEOF\nEOF\n",
    failed("Invalid format 'EOF'", ["A", "B<<EOF\nx"]),
  ],
  [
    "whoever knows the delimiter can end the value (hence random delimiters)",
    "A<<EOF\nx\nEOF\nINJECTED=1\nEOF\n",
    failed("Invalid format 'EOF'", ["A", "x"], ["INJECTED", "1"]),
  ],
  ["no escapes are read", "A=x%0AB=y\n", ok(["A", "x%0AB=y"])],
];

describe("parseKeyValueFile", () => {
  test.each(KEY_VALUE)("%s", (_title, text, expected) => {
    expect(parseKeyValueFile(text)).toEqual(expected);
  });

  test("no error key on success", () => {
    expect("error" in parseKeyValueFile("A=1\n")).toBe(false);
  });

  const WINDOWS: [text: string, expected: KeyValueFileResult][] = [
    ["A=1\r\nB=2\r\n", ok(["A", "1"], ["B", "2"])],
    ["A<<EOF\r\nx\r\ny\r\nEOF\r\n", ok(["A", "x\r\ny"])],
    ["A<<EOF\nx\r\nEOF\n", ok(["A", "x"])],
    ["A=1\r\n\r\nB=2", ok(["A", "1"], ["B", "2"])],
    ["A=1\r", ok(["A", "1\r"])],
    ["A<<EOF\r\nx\r\nEOF \r\n", failed("Invalid value. Matching delimiter not found 'EOF'")],
  ];

  test.each(WINDOWS)("on Windows CRLF ends a line too: %j", (text, expected) => {
    expect(parseKeyValueFile(text, { windows: true })).toEqual(expected);
  });
});

const PATHS: [text: string, expected: string[]][] = [
  ["", []],
  ["/opt/tool/bin\n", ["/opt/tool/bin"]],
  ["/a\n/b\n/c", ["/a", "/b", "/c"]],
  ["\n\n/a\n\n", ["/a"]],
  // File.ReadAllLines ends lines at CRLF and at a lone CR on every platform.
  ["/a\r\n/b\r/c\n", ["/a", "/b", "/c"]],
  // Lines are taken as written.
  [" /a \n \n", [" /a ", " "]],
  ["/a\n/a\n", ["/a", "/a"]],
  ["\uFEFF/a\n", ["/a"]],
  ["/opt/ツール/bin\nC:\\tools\n", ["/opt/ツール/bin", "C:\\tools"]],
];

describe("parsePathFile", () => {
  test.each(PATHS)("%j", (text, expected) => {
    expect(parsePathFile(text)).toEqual(expected);
  });
});
