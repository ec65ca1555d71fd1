import { describe, expect, test } from "vitest";
import { type Annotation, toAnnotation } from "./command-annotation.js";
import {
  CommandScanner,
  type CommandScannerOptions,
  commandProperty,
  DEPRECATED_COMMAND_MESSAGES,
  DISABLED_COMMAND_MESSAGES,
  escapeData,
  escapeProperty,
  isKnownCommand,
  KNOWN_COMMANDS,
  maskCommand,
  parseWorkflowCommand,
  type ScanOutcome,
  STOP_COMMANDS_TOKEN_MESSAGE,
  type WorkflowCommand,
} from "./workflow-command.js";

function cmd(name: string, properties: Record<string, string>, data: string): WorkflowCommand {
  return { name, properties, data };
}

// Compares properties as plain data; the parser's record has no prototype.
function plain(c: WorkflowCommand | undefined) {
  return c && { name: c.name, properties: { ...c.properties }, data: c.data };
}

const PARSE: [line: string, expected: WorkflowCommand | undefined][] = [
  ["::debug::hello", cmd("debug", {}, "hello")],
  ["::warning file=a.ts,line=3::msg", cmd("warning", { file: "a.ts", line: "3" }, "msg")],
  ["::set-output name=x::", cmd("set-output", { name: "x" }, "")],
  ["::endgroup::", cmd("endgroup", {}, "")],
  // Leading white space is skipped (.NET TrimStart), a trailing CR or LF is not data.
  ["  \t::debug::x", cmd("debug", {}, "x")],
  ["\u00a0::debug::x", cmd("debug", {}, "x")],
  ["::debug::x\r", cmd("debug", {}, "x")],
  ["::debug::x\r\n", cmd("debug", {}, "x")],
  // Names ignore case and come back canonical; so do the property names the runner reads.
  ["::DEBUG::x", cmd("debug", {}, "x")],
  ["::Set-Output NAME=a::v", cmd("set-output", { name: "a" }, "v")],
  ["::error ENDLINE=2,Title=t::m", cmd("error", { endLine: "2", title: "t" }, "m")],
  // The first spelling of an unknown property is kept; the last value wins.
  ["::error Foo=1,foo=2::m", cmd("error", { Foo: "2" }, "m")],
  ["::error LINE=1,line=2::m", cmd("error", { line: "2" }, "m")],
  // Data runs to the end of the line: only the first `::` closes the command.
  ["::debug::a::b", cmd("debug", {}, "a::b")],
  // Unescaping: data knows %0D %0A %25; properties also %3A %2C; upper case only; once.
  ["::debug::m%0Dn%0Ao%25p%3Aq%2Cr", cmd("debug", {}, "m\rn\no%p%3Aq%2Cr")],
  ["::error title=a%3Ab%2Cc%25d%0Ae%0D::m", cmd("error", { title: "a:b,c%d\ne\r" }, "m")],
  ["::debug::a%0ab%0dc", cmd("debug", {}, "a%0ab%0dc")],
  ["::debug::%250A", cmd("debug", {}, "%0A")],
  // Properties: the list is trimmed, `,` separates, empty items vanish; `Split('=', 2,
  // RemoveEmptyEntries)` drops leading `=`, joins `==`, and needs both a name and a value.
  ["::error   line=2  ::m", cmd("error", { line: "2" }, "m")],
  ["::error ,,line=2,,::m", cmd("error", { line: "2" }, "m")],
  ["::error file=a.ts, line=3::m", cmd("error", { file: "a.ts", " line": "3" }, "m")],
  ["::error title=a=b::m", cmd("error", { title: "a=b" }, "m")],
  ["::error title==b::m", cmd("error", { title: "b" }, "m")],
  ["::error =title=b::m", cmd("error", { title: "b" }, "m")],
  ["::error title=,line=2::m", cmd("error", { line: "2" }, "m")],
  ["::error =x,line::m", cmd("error", {}, "m")],
  // Not commands: no closing `::`, empty name, name not registered, not at the start.
  ["::debug", undefined],
  ["::debug x", undefined],
  ["::::x", undefined],
  [":: debug::x", undefined],
  ["::foo::x", undefined],
  ["echo ::debug::x", undefined],
  ["\uFEFF::debug::x", undefined],
  ["", undefined],
  ["plain output", undefined],
  // Only a space ends the name.
  ["::error\tline=2::m", undefined],
  // Case is compared as .NET's OrdinalIgnoreCase does: the Kelvin sign is not a `k`.
  ["::add-mas\u212a::secret", undefined],
  // The legacy form is still read, anywhere in the line, with `;` between properties.
  ["##[debug]hi", cmd("debug", {}, "hi")],
  ["##[group]Title", cmd("group", {}, "Title")],
  [
    "text ##[warning file=a.ts;line=2]m%3Bn%5Do%0A",
    cmd("warning", { file: "a.ts", line: "2" }, "m;n]o\n"),
  ],
  ["##[error title=a%3Bb%5D%25]x", cmd("error", { title: "a;b]%" }, "x")],
  ["##[foo]x", undefined],
  ["##[debug", undefined],
  // When the `::` form names no command, the runner falls back to the legacy form.
  ["::foo::##[debug]x", cmd("debug", {}, "x")],
];

describe("parseWorkflowCommand", () => {
  test.each(PARSE)("%j", (line, expected) => {
    expect(plain(parseWorkflowCommand(line))).toEqual(expected);
  });

  test("a custom registry decides which names are commands", () => {
    expect(plain(parseWorkflowCommand("::My-Cmd a=1::d", () => true))).toEqual(
      cmd("my-cmd", { a: "1" }, "d"),
    );
    expect(parseWorkflowCommand("::debug::x", (name) => name === "error")).toBeUndefined();
    expect(parseWorkflowCommand("::::x", () => true)).toBeUndefined();
  });

  test("a property named __proto__ is plain data", () => {
    const c = parseWorkflowCommand("::error __proto__=x,constructor=y::m");
    expect(Object.getPrototypeOf(c?.properties)).toBeNull();
    expect(Object.entries(c?.properties ?? {})).toEqual([
      ["__proto__", "x"],
      ["constructor", "y"],
    ]);
  });

  test("commandProperty ignores case", () => {
    const c = parseWorkflowCommand("::error Foo=1::m");
    expect(c && commandProperty(c, "FOO")).toBe("1");
    expect(c && commandProperty(c, "bar")).toBeUndefined();
  });
});

const ESCAPES: [input: string, data: string, property: string][] = [
  ["plain", "plain", "plain"],
  ["100%", "100%25", "100%25"],
  ["a\r\nb", "a%0D%0Ab", "a%0D%0Ab"],
  ["k: v, w", "k: v, w", "k%3A v%2C w"],
  ["%0A", "%250A", "%250A"],
];

describe("escapeData and escapeProperty", () => {
  test.each(ESCAPES)("%j", (input, data, property) => {
    expect(escapeData(input)).toBe(data);
    expect(escapeProperty(input)).toBe(property);
  });

  // Random text over the characters that matter, read back through the parser.
  test("the parser undoes them exactly", () => {
    const alphabet = ["%", "0", "2", "3", "5", "A", "C", "D", ":", ",", "=", ";", "]", " "];
    alphabet.push("\r", "\n", "é", "😀");
    let seed = 7;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let i = 0; i < 2000; i++) {
      let s = "";
      const length = next() % 12;
      for (let j = 0; j < length; j++) s += alphabet[next() % alphabet.length];
      // A property value cannot be empty or start with `=`: the runner's split drops those
      // (see PARSE), whatever the escaping.
      const title = `x${s}`;
      const line = `::error title=${escapeProperty(title)},x=1::${escapeData(s)}`;
      const parsed = parseWorkflowCommand(line);
      expect(parsed?.properties.title, JSON.stringify(title)).toBe(title);
      expect(parsed?.data, JSON.stringify(s)).toBe(s);
    }
  });
});

const ANNOTATIONS: [line: string, expected: Annotation | undefined][] = [
  ["::error::boom", { level: "error", message: "boom" }],
  [
    "::warning file=src/a.ts,line=3,col=5,title=Bad thing::m",
    { level: "warning", message: "m", file: "src/a.ts", line: 3, column: 5, title: "Bad thing" },
  ],
  [
    "::notice file=a,line=2,endLine=4::m",
    { level: "notice", message: "m", file: "a", line: 2, endLine: 4 },
  ],
  [
    "::error line=2,endLine=2,col=3,endColumn=9::m",
    { level: "error", message: "m", line: 2, endLine: 2, column: 3, endColumn: 9 },
  ],
  ["::error LINE=3,ENDLINE=4::m", { level: "error", message: "m", line: 3, endLine: 4 }],
  // The runner's corrections: an end alone is also the start...
  ["::error endLine=7::m", { level: "error", message: "m", line: 7, endLine: 7 }],
  [
    "::error line=1,endColumn=4::m",
    { level: "error", message: "m", line: 1, column: 4, endColumn: 4 },
  ],
  // ...columns need a line, and one line...
  ["::error col=1,endColumn=2::m", { level: "error", message: "m" }],
  [
    "::error line=1,endLine=2,col=1,endColumn=2::m",
    { level: "error", message: "m", line: 1, endLine: 2 },
  ],
  // ...and an end before its start drops both.
  ["::error line=4,endLine=3::m", { level: "error", message: "m" }],
  ["::error line=1,col=5,endColumn=2::m", { level: "error", message: "m", line: 1 }],
  // Numbers are int.TryParse's: white space and a sign are fine, anything else is dropped.
  ["::error line= 12 ,col=+3::m", { level: "error", message: "m", line: 12, column: 3 }],
  ["::error line=abc,col=2::m", { level: "error", message: "m" }],
  ["::error line=1.5::m", { level: "error", message: "m" }],
  ["::error line=99999999999::m", { level: "error", message: "m" }],
  ["::error title=a%2Cb%3Ac::x%0Ay", { level: "error", message: "x\ny", title: "a,b:c" }],
  ["::debug::x", undefined],
  ["::group::x", undefined],
];

describe("toAnnotation", () => {
  test.each(ANNOTATIONS)("%j", (line, expected) => {
    const c = parseWorkflowCommand(line);
    if (!c) throw new Error(`not a command: ${line}`);
    expect(toAnnotation(c)).toEqual(expected);
  });
});

describe("the runner's messages and commands", () => {
  test("deprecation warnings, word for word", () => {
    expect(DEPRECATED_COMMAND_MESSAGES).toEqual({
      "set-output":
        "The `set-output` command is deprecated and will be disabled soon. Please upgrade to using Environment Files. For more information see: https://github.blog/changelog/2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/",
      "save-state":
        "The `save-state` command is deprecated and will be disabled soon. Please upgrade to using Environment Files. For more information see: https://github.blog/changelog/2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/",
    });
  });

  test("disabled-command errors, word for word", () => {
    expect(DISABLED_COMMAND_MESSAGES).toEqual({
      "set-env":
        "The `set-env` command is disabled. Please upgrade to using Environment Files or opt into unsecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment variable to `true`. For more information see: https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/",
      "add-path":
        "The `add-path` command is disabled. Please upgrade to using Environment Files or opt into unsecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment variable to `true`. For more information see: https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/",
    });
  });

  test("stop-commands token error, word for word", () => {
    expect(STOP_COMMANDS_TOKEN_MESSAGE).toBe(
      "You cannot use a endToken that is an empty string, the string 'pause-logging', or another workflow command. For more information see: https://docs.github.com/actions/learn-github-actions/workflow-commands-for-github-actions#example-stopping-and-starting-workflow-commands or opt into insecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS` environment variable to `true`.",
    );
  });

  test("the registered commands and their status", () => {
    const status = Object.fromEntries(
      Object.entries(KNOWN_COMMANDS).map(([name, info]) => [name, info.status]),
    );
    expect(status).toEqual({
      "set-output": "deprecated",
      "save-state": "deprecated",
      "add-mask": "active",
      group: "active",
      endgroup: "active",
      debug: "active",
      error: "active",
      warning: "active",
      notice: "active",
      "stop-commands": "active",
      echo: "active",
      "add-matcher": "active",
      "remove-matcher": "active",
      "set-env": "disabled",
      "add-path": "disabled",
    });
  });

  test.each([
    ["STOP-COMMANDS", true],
    ["Add-Matcher", true],
    ["internal-set-repo-path", false],
    ["pause-logging", false],
    ["", false],
  ] as const)("isKnownCommand(%j) is %j", (name, known) => {
    expect(isKnownCommand(name)).toBe(known);
  });
});

type Step = [line: string, command: string | undefined, outcome: ScanOutcome];

const SCANS: [title: string, options: CommandScannerOptions, steps: Step[]][] = [
  [
    "stop, ignore everything, resume on the token (ignoring case)",
    {},
    [
      ["::error::before", "error", "command"],
      ["::stop-commands::tok123", undefined, "stopped"],
      ["::error::hidden", undefined, "output"],
      ["##[warning]hidden", undefined, "output"],
      ["::stop-commands::other", undefined, "output"],
      ["::tok1234::", undefined, "output"],
      ["plain", undefined, "output"],
      ["::TOK123::", undefined, "resumed"],
      ["::error::after", "error", "command"],
      ["::tok123::", undefined, "output"],
    ],
  ],
  [
    "resume with properties, data or the legacy form",
    {},
    [
      ["##[stop-commands]abcdefgh", undefined, "stopped"],
      ["::abcdefgh a=b::whatever", undefined, "resumed"],
      ["::stop-commands::abcdefgh", undefined, "stopped"],
      ["  ##[abcdefgh]", undefined, "resumed"],
      ["::debug::on", "debug", "command"],
    ],
  ],
  [
    "the token is data, so it is unescaped",
    {},
    [
      ["::stop-commands::x%25y", undefined, "stopped"],
      ["::x%25y::", undefined, "output"],
      ["::x%y::", undefined, "resumed"],
    ],
  ],
  [
    "a token with a space can never be matched",
    {},
    [
      ["::stop-commands::a b", undefined, "stopped"],
      ["::a b::", undefined, "output"],
      ["::a::", undefined, "output"],
      ["::error::x", undefined, "output"],
    ],
  ],
  [
    "refused tokens leave processing on",
    {},
    [
      ["::stop-commands::", undefined, "refused"],
      ["::stop-commands::pause-logging", undefined, "refused"],
      ["::stop-commands::PAUSE-LOGGING", undefined, "refused"],
      ["::stop-commands::set-env", undefined, "refused"],
      ["::stop-commands::Stop-Commands", undefined, "refused"],
      ["::stop-commands::add-matcher", undefined, "refused"],
      ["::error::still on", "error", "command"],
    ],
  ],
  [
    "ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS accepts a command name as token",
    { allowUnsecureStopCommandTokens: true },
    [
      ["::stop-commands::set-env", undefined, "stopped"],
      ["::error::x", undefined, "output"],
      ["::set-env name=a::b", undefined, "resumed"],
      ["::error::x", "error", "command"],
    ],
  ],
  [
    "an allowed empty token never resumes",
    { allowUnsecureStopCommandTokens: true },
    [
      ["::stop-commands::", undefined, "stopped"],
      ["::::", undefined, "output"],
      ["::stop-commands::", undefined, "output"],
      ["::error::x", undefined, "output"],
    ],
  ],
];

describe("CommandScanner", () => {
  test.each(SCANS)("%s", (_title, options, steps) => {
    const scanner = new CommandScanner(options);
    steps.forEach(([line, command, outcome], i) => {
      const where = `line ${i + 1}: ${line}`;
      expect(scanner.scan(line)?.name, where).toBe(command);
      expect(scanner.outcome, where).toBe(outcome);
      expect(scanner.consumed, where).toBe(outcome === "stopped" || outcome === "resumed");
      expect(scanner.error, where).toBe(
        outcome === "refused" ? STOP_COMMANDS_TOKEN_MESSAGE : undefined,
      );
    });
  });

  test("stopToken is the awaited token while stopped", () => {
    const scanner = new CommandScanner();
    expect(scanner.stopToken).toBeUndefined();
    scanner.scan("::stop-commands::Secret-Token");
    expect(scanner.stopToken).toBe("Secret-Token");
    scanner.scan("::secret-token::");
    expect(scanner.stopToken).toBeUndefined();
  });

  test("commands come back parsed", () => {
    const scanner = new CommandScanner();
    expect(plain(scanner.scan("::set-output name=a::1%0A2"))).toEqual(
      cmd("set-output", { name: "a" }, "1\n2"),
    );
  });
});

describe("maskCommand", () => {
  test("masks the data and every property value, keeping the names", () => {
    const parsed = parseWorkflowCommand(
      "::notice file=a-SECRET,line=SECRET,Custom=x SECRET::m SECRET",
    );
    const masked = maskCommand(parsed as WorkflowCommand, (t) => t.replaceAll("SECRET", "***"));
    expect({ ...masked, properties: { ...masked.properties } }).toEqual({
      name: "notice",
      properties: { file: "a-***", line: "***", Custom: "x ***" },
      data: "m ***",
    });
    expect(toAnnotation(masked)).toEqual({ level: "notice", message: "m ***", file: "a-***" });
  });
});
