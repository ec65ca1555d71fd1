/**
 * Workflow commands a step prints on its output (`::name key=value,key=value::data`), read the
 * way GitHub's runner reads them (actions/runner `ActionCommand.cs` and
 * `ActionCommandManager.cs`). Pure.
 */

/** One command found on a line of a step's output. */
export interface WorkflowCommand {
  /** Lower case; a known command under its canonical name. */
  readonly name: string;
  /**
   * Unescaped property values. Names are case-insensitive as in the runner: the first spelling
   * seen is kept (the last value wins), and the names the runner reads (`name`, `file`, `line`,
   * `endLine`, `col`, `endColumn`, `title`, `owner`) are stored under that spelling. A property
   * without a name or a value is dropped, so no value is empty.
   */
  readonly properties: Readonly<Record<string, string>>;
  /** Unescaped text after the command; may be empty. */
  readonly data: string;
}

/** Whether a command is still honoured, warned about, or refused. */
export type CommandStatus = "active" | "deprecated" | "disabled";

/** What the runner does with one command it knows. */
export interface CommandInfo {
  readonly status: CommandStatus;
  readonly summary: string;
}

/**
 * Every command the runner registers for a step. A line naming anything else is not a command
 * at all: the runner prints it as output.
 */
export const KNOWN_COMMANDS = Object.freeze({
  "set-output": {
    status: "deprecated",
    summary: "sets output `name` of the step to data; superseded by $GITHUB_OUTPUT",
  },
  "save-state": {
    status: "deprecated",
    summary: "saves state `name` for the action's post step; superseded by $GITHUB_STATE",
  },
  "add-mask": { status: "active", summary: "masks data (and each of its lines) in the log" },
  group: { status: "active", summary: "starts a collapsible group in the log titled data" },
  endgroup: { status: "active", summary: "ends the current group" },
  debug: { status: "active", summary: "prints data only when step debug logging is on" },
  error: { status: "active", summary: "raises an error annotation" },
  warning: { status: "active", summary: "raises a warning annotation" },
  notice: { status: "active", summary: "raises a notice annotation" },
  "stop-commands": {
    status: "active",
    summary: "stops processing commands until a line `::<data>::` is printed",
  },
  echo: { status: "active", summary: "`on` or `off`: whether command lines are echoed to the log" },
  "add-matcher": { status: "active", summary: "adds the problem matchers of the JSON file data" },
  "remove-matcher": {
    status: "active",
    summary: "removes problem matchers by `owner` or by the file data",
  },
  "set-env": {
    status: "disabled",
    summary:
      "sets variable `name` of the environment to data, only with ACTIONS_ALLOW_UNSECURE_COMMANDS",
  },
  "add-path": {
    status: "disabled",
    summary: "prepends data to PATH, only with ACTIONS_ALLOW_UNSECURE_COMMANDS",
  },
} as const satisfies Record<string, CommandInfo>);

/** The name of a command the runner knows. */
export type KnownCommandName = keyof typeof KNOWN_COMMANDS;

/**
 * The warning the runner adds for `set-output` and `save-state` (`UnsupportedCommandMessage`)
 * when the server asks it to; the command still takes effect.
 */
export const DEPRECATED_COMMAND_MESSAGES = Object.freeze({
  "set-output": deprecatedMessage("set-output"),
  "save-state": deprecatedMessage("save-state"),
});

/**
 * The error the runner raises for `set-env` and `add-path` (`UnsupportedCommandMessageDisabled`)
 * unless ACTIONS_ALLOW_UNSECURE_COMMANDS is `true`. It logs `Unable to process command 'LINE'
 * successfully.` and then this message, both as errors, and the step fails.
 */
export const DISABLED_COMMAND_MESSAGES = Object.freeze({
  "set-env": disabledMessage("set-env"),
  "add-path": disabledMessage("add-path"),
});

/**
 * The error the runner raises for `stop-commands` with an empty token, `pause-logging` or the
 * name of a command (`UnsupportedStopCommandTokenDisabled`), unless
 * ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS is `true`.
 */
export const STOP_COMMANDS_TOKEN_MESSAGE =
  "You cannot use a endToken that is an empty string, the string 'pause-logging', or another workflow command. For more information see: https://docs.github.com/actions/learn-github-actions/workflow-commands-for-github-actions#example-stopping-and-starting-workflow-commands or opt into insecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS` environment variable to `true`.";

function deprecatedMessage(name: string): string {
  return `The \`${name}\` command is deprecated and will be disabled soon. Please upgrade to using Environment Files. For more information see: https://github.blog/changelog/2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/`;
}

function disabledMessage(name: string): string {
  return `The \`${name}\` command is disabled. Please upgrade to using Environment Files or opt into unsecure command execution by setting the \`ACTIONS_ALLOW_UNSECURE_COMMANDS\` environment variable to \`true\`. For more information see: https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/`;
}

/** Whether the runner registers `name` (compared as the runner does, ignoring case). */
export function isKnownCommand(name: string): boolean {
  return KNOWN_BY_FOLDED.has(foldCase(name));
}

/** Escapes a command's data as actions/toolkit does: `%`, CR and LF. */
export function escapeData(s: string): string {
  return s.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
}

/** Escapes a property value as actions/toolkit does: as data, plus `:` and `,`. */
export function escapeProperty(s: string): string {
  return escapeData(s).replaceAll(":", "%3A").replaceAll(",", "%2C");
}

/**
 * Reads one line of output as a command, or returns undefined for plain output. `line` is one
 * line as the runner's reader yields it; trailing CR and LF are ignored.
 *
 * The form is `::name key=value,key=value::data` after leading whitespace; the name ends at
 * the first space and the data after the first `::` that closes it. `isRegistered` (given the
 * name as printed) decides which names are commands; by default the runner's
 * {@link KNOWN_COMMANDS}, ignoring case. When that form does not yield a command, the legacy
 * form `##[name key=value;key=value]data` is tried anywhere in the line, as the runner still
 * does.
 *
 * Unescaping is the runner's, replacing in this order and only with upper-case hex: data
 * `%0D` `%0A` `%25`; properties `%0D` `%0A` `%3A` `%2C` `%25`; legacy values `%3B` `%0D`
 * `%0A` `%5D` `%25`.
 */
export function parseWorkflowCommand(
  line: string,
  isRegistered: (name: string) => boolean = isKnownCommand,
): WorkflowCommand | undefined {
  const text = stripLineEnd(line);
  return parseCurrent(text, isRegistered) ?? parseLegacy(text, isRegistered);
}

/**
 * The property `key` of `cmd`, ignoring case as the runner does, or undefined when it is not
 * set.
 */
export function commandProperty(cmd: WorkflowCommand, key: string): string | undefined {
  const folded = foldCase(key);
  for (const [name, value] of Object.entries(cmd.properties)) {
    if (foldCase(name) === folded) return value;
  }
  return undefined;
}

/**
 * `cmd` with `mask` applied to its data and to every property value, for everything that shows
 * a command (annotations, group titles, debug lines, echoed commands). Names are kept, so the
 * properties a handler reads are still found; a value `mask` changes no longer parses as a
 * line or column, so it is dropped from an annotation rather than shown.
 */
export function maskCommand(cmd: WorkflowCommand, mask: (text: string) => string): WorkflowCommand {
  const properties: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(cmd.properties)) properties[name] = mask(value);
  return { name: cmd.name, properties: Object.freeze(properties), data: mask(cmd.data) };
}

/** What the last line given to {@link CommandScanner.scan} was. */
export type ScanOutcome =
  /** plain output: print it */
  | "output"
  /** a command to act on */
  | "command"
  /** `::stop-commands::TOKEN` accepted: commands are off until `::TOKEN::` */
  | "stopped"
  /** `::TOKEN::` while stopped: commands are on again */
  | "resumed"
  /** `::stop-commands::` with a token the runner refuses: see {@link CommandScanner.error} */
  | "refused";

/** Choices the runner takes from the environment. */
export interface CommandScannerOptions {
  /** ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS is `true`: accept any stop token. */
  readonly allowUnsecureStopCommandTokens?: boolean;
}

/**
 * Reads a step's output line by line with `::stop-commands::` semantics, as the runner's
 * `ActionCommandManager` does. One scanner serves one step (stdout and stderr alike).
 *
 * `::stop-commands::TOKEN` stops command processing: until a line whose command name is
 * TOKEN (ignoring case; `::TOKEN::`, with or without properties or data, or `##[TOKEN]`), every
 * line is plain output. TOKEN must not be empty, `pause-logging` or the name of a command:
 * such a line is refused with {@link STOP_COMMANDS_TOKEN_MESSAGE} and processing goes on.
 * A token with a space or `::` in it can never be matched, so processing stays off for the
 * rest of the step.
 *
 * The stop and resume lines yield no command, but the runner still prints them to the log,
 * and masks a token longer than 6 characters as a secret from then on (see
 * {@link CommandScanner.stopToken}). A refused line is not printed; the runner raises the error
 * instead.
 */
export class CommandScanner {
  private readonly allowAnyToken: boolean;
  private token: string | undefined;
  private lastOutcome: ScanOutcome = "output";
  private lastError: string | undefined;

  constructor(options: CommandScannerOptions = {}) {
    this.allowAnyToken = options.allowUnsecureStopCommandTokens ?? false;
  }

  /** What the last scanned line was. */
  get outcome(): ScanOutcome {
    return this.lastOutcome;
  }

  /** The last line stopped or resumed processing: there is no command to act on. */
  get consumed(): boolean {
    return this.lastOutcome === "stopped" || this.lastOutcome === "resumed";
  }

  /** The runner's error for the last line when it was refused; otherwise undefined. */
  get error(): string | undefined {
    return this.lastError;
  }

  /** The token awaited while processing is stopped; undefined while commands are processed. */
  get stopToken(): string | undefined {
    return this.token;
  }

  /** The command on `line` to act on, or undefined (see {@link CommandScanner.outcome}). */
  scan(line: string): WorkflowCommand | undefined {
    this.lastError = undefined;
    const token = this.token;
    if (token !== undefined) {
      // The runner registers the token as one more command name while it waits for it.
      // Matching is decided on the name as printed, before it is lower-cased.
      const folded = foldCase(token);
      let resumes = false;
      parseWorkflowCommand(line, (name) => {
        if (foldCase(name) === folded) resumes = true;
        return resumes || isKnownCommand(name);
      });
      // An empty token (accepted only when allowed) matches no name: it never resumes.
      if (resumes) this.token = undefined;
      this.lastOutcome = resumes ? "resumed" : "output";
      return undefined;
    }
    const cmd = parseWorkflowCommand(line);
    if (cmd === undefined) {
      this.lastOutcome = "output";
      return undefined;
    }
    if (cmd.name !== "stop-commands") {
      this.lastOutcome = "command";
      return cmd;
    }
    if (!this.allowAnyToken && isRefusedStopToken(cmd.data)) {
      this.lastOutcome = "refused";
      this.lastError = STOP_COMMANDS_TOKEN_MESSAGE;
      return undefined;
    }
    this.token = cmd.data;
    this.lastOutcome = "stopped";
    return undefined;
  }
}

const KNOWN_BY_FOLDED: ReadonlyMap<string, KnownCommandName> = new Map(
  (Object.keys(KNOWN_COMMANDS) as KnownCommandName[]).map((name) => [foldCase(name), name]),
);

const CANONICAL_PROPERTIES: ReadonlyMap<string, string> = new Map(
  ["name", "file", "line", "endLine", "col", "endColumn", "title", "owner"].map((key) => [
    foldCase(key),
    key,
  ]),
);

const DATA_ESCAPES: readonly (readonly [string, string])[] = [
  ["%0D", "\r"],
  ["%0A", "\n"],
  ["%25", "%"],
];

const PROPERTY_ESCAPES: readonly (readonly [string, string])[] = [
  ["%0D", "\r"],
  ["%0A", "\n"],
  ["%3A", ":"],
  ["%2C", ","],
  ["%25", "%"],
];

const LEGACY_ESCAPES: readonly (readonly [string, string])[] = [
  ["%3B", ";"],
  ["%0D", "\r"],
  ["%0A", "\n"],
  ["%5D", "]"],
  ["%25", "%"],
];

// .NET's Char.IsWhiteSpace, which String.Trim uses; JavaScript's trim differs on U+0085 and
// U+FEFF.
const LEADING_SPACE = /^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
const TRAILING_SPACE = /[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/;

function parseCurrent(
  text: string,
  isRegistered: (name: string) => boolean,
): WorkflowCommand | undefined {
  const message = text.replace(LEADING_SPACE, "");
  if (!message.startsWith("::")) return undefined;
  const end = message.indexOf("::", 2);
  if (end < 0) return undefined;
  const info = message.slice(2, end);
  const space = info.indexOf(" ");
  const name = commandName(space < 0 ? info : info.slice(0, space), isRegistered);
  if (name === undefined) return undefined;
  const list =
    space > 0
      ? info
          .slice(space + 1)
          .replace(LEADING_SPACE, "")
          .replace(TRAILING_SPACE, "")
      : "";
  const properties = readProperties(list, ",", PROPERTY_ESCAPES);
  return { name, properties, data: unescapeWith(message.slice(end + 2), DATA_ESCAPES) };
}

function parseLegacy(
  text: string,
  isRegistered: (name: string) => boolean,
): WorkflowCommand | undefined {
  const start = text.indexOf("##[");
  if (start < 0) return undefined;
  const end = text.indexOf("]", start);
  if (end < 0) return undefined;
  const info = text.slice(start + 3, end);
  const space = info.indexOf(" ");
  const name = commandName(space < 0 ? info : info.slice(0, space), isRegistered);
  if (name === undefined) return undefined;
  const properties = readProperties(space > 0 ? info.slice(space + 1) : "", ";", LEGACY_ESCAPES);
  return { name, properties, data: unescapeWith(text.slice(end + 1), LEGACY_ESCAPES) };
}

function commandName(raw: string, isRegistered: (name: string) => boolean): string | undefined {
  if (raw === "" || !isRegistered(raw)) return undefined;
  return KNOWN_BY_FOLDED.get(foldCase(raw)) ?? raw.toLowerCase();
}

function readProperties(
  list: string,
  separator: string,
  escapes: readonly (readonly [string, string])[],
): Readonly<Record<string, string>> {
  // No prototype, so a property called `__proto__` or `constructor` is plain data.
  const properties: Record<string, string> = Object.create(null);
  const spelling = new Map<string, string>();
  for (const item of list.split(separator)) {
    const pair = splitPair(item);
    if (pair === undefined) continue;
    const folded = foldCase(pair[0]);
    const key = spelling.get(folded) ?? CANONICAL_PROPERTIES.get(folded) ?? pair[0];
    spelling.set(folded, key);
    properties[key] = unescapeWith(pair[1], escapes);
  }
  return Object.freeze(properties);
}

/**
 * `item.Split('=', 2, StringSplitOptions.RemoveEmptyEntries)` of .NET: leading `=` are
 * skipped, the name ends at the next `=`, the `=` after it are skipped too, and a pair needs a
 * name and a value.
 */
function splitPair(item: string): [string, string] | undefined {
  let start = 0;
  while (item[start] === "=") start++;
  const eq = item.indexOf("=", start);
  if (eq < 0) return undefined;
  let valueStart = eq + 1;
  while (item[valueStart] === "=") valueStart++;
  const value = item.slice(valueStart);
  return value === "" ? undefined : [item.slice(start, eq), value];
}

function unescapeWith(s: string, escapes: readonly (readonly [string, string])[]): string {
  let out = s;
  for (const [escaped, plain] of escapes) out = out.replaceAll(escaped, plain);
  return out;
}

function stripLineEnd(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === "\r" || line[end - 1] === "\n")) end--;
  return line.slice(0, end);
}

/**
 * The key .NET's OrdinalIgnoreCase compares: each character's simple upper case, never a
 * longer expansion (`ß` stays, `ſ` becomes `S`).
 */
function foldCase(s: string): string {
  let out = "";
  for (const ch of s) {
    const upper = ch.toUpperCase();
    out += upper.length === ch.length ? upper : ch;
  }
  return out;
}

function isRefusedStopToken(token: string): boolean {
  return token === "" || isKnownCommand(token) || foldCase(token) === foldCase("pause-logging");
}
