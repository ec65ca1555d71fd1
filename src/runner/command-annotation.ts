/**
 * The annotations of `::error::`, `::warning::` and `::notice::` commands, with their lines
 * and columns checked as GitHub's runner checks them.
 */
import { commandProperty, type WorkflowCommand } from "./workflow-command.js";

/** An annotation raised by `::error::`, `::warning::` or `::notice::`. */
export interface Annotation {
  readonly level: "error" | "warning" | "notice";
  readonly message: string;
  readonly title?: string;
  /** As printed; the runner then makes a path inside the workspace relative to it. */
  readonly file?: string;
  readonly line?: number;
  readonly endLine?: number;
  readonly column?: number;
  readonly endColumn?: number;
}

/**
 * The annotation of an `error`, `warning` or `notice` command, or undefined for any other
 * command. Lines and columns are first corrected as the runner's `ValidateLinesAndColumns`
 * does (an `endLine` alone becomes the line, columns need a line and must be on one line, an
 * end before its start drops both); then a value that is not a whole number (`int.TryParse`)
 * is dropped.
 */
export function toAnnotation(cmd: WorkflowCommand): Annotation | undefined {
  const level = cmd.name;
  if (level !== "error" && level !== "warning" && level !== "notice") return undefined;
  const p = validateLinesAndColumns({
    line: commandProperty(cmd, "line"),
    endLine: commandProperty(cmd, "endLine"),
    col: commandProperty(cmd, "col"),
    endColumn: commandProperty(cmd, "endColumn"),
  });
  const title = commandProperty(cmd, "title");
  const file = commandProperty(cmd, "file");
  const line = parseInt32(p.line);
  const endLine = parseInt32(p.endLine);
  const column = parseInt32(p.col);
  const endColumn = parseInt32(p.endColumn);
  return {
    level,
    message: cmd.data,
    ...(title !== undefined ? { title } : {}),
    ...(file !== undefined ? { file } : {}),
    ...(line !== undefined ? { line } : {}),
    ...(endLine !== undefined ? { endLine } : {}),
    ...(column !== undefined ? { column } : {}),
    ...(endColumn !== undefined ? { endColumn } : {}),
  };
}

// int.TryParse with NumberStyles.Integer: optional white space around an optional sign.
const INT32 = /^[\t-\r ]*([+-]?[0-9]+)[\t-\r ]*$/;

interface LineColumnProperties {
  line: string | undefined;
  endLine: string | undefined;
  col: string | undefined;
  endColumn: string | undefined;
}

/**
 * The runner's `IssueCommandExtension.ValidateLinesAndColumns`, step for step. Its quirks are
 * kept: a start copied from an end is compared as 0, and `line` and `endLine` are compared as
 * text.
 */
function validateLinesAndColumns(input: LineColumnProperties): LineColumnProperties {
  const p = { ...input };
  const lineNumber = parseInt32(p.line) ?? 0;
  const endLineNumber = parseInt32(p.endLine) ?? 0;
  const columnNumber = parseInt32(p.col) ?? 0;
  const endColumnNumber = parseInt32(p.endColumn) ?? 0;
  let hasStartLine = parseInt32(p.line) !== undefined;
  const hasEndLine = parseInt32(p.endLine) !== undefined;
  let hasStartColumn = parseInt32(p.col) !== undefined;
  const hasEndColumn = parseInt32(p.endColumn) !== undefined;
  const hasColumn = hasStartColumn || hasEndColumn;
  const dropColumns = () => {
    p.col = undefined;
    p.endColumn = undefined;
  };

  if (hasEndLine && !hasStartLine) {
    p.line = p.endLine;
    hasStartLine = true;
  }
  if (hasEndColumn && !hasStartColumn) {
    p.col = p.endColumn;
    hasStartColumn = true;
  }
  if (!hasStartLine && hasColumn) dropColumns();
  if (hasEndLine && p.line !== p.endLine && hasColumn) dropColumns();
  if (hasStartLine && hasEndLine && endLineNumber < lineNumber) {
    p.line = undefined;
    p.endLine = undefined;
  }
  if (hasStartColumn && hasEndColumn && endColumnNumber < columnNumber) dropColumns();
  return p;
}

function parseInt32(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const digits = INT32.exec(s)?.[1];
  if (digits === undefined) return undefined;
  const n = Number(digits);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}
