/**
 * The environment files a step writes (GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STATE, GITHUB_PATH),
 * read the way GitHub's runner reads them (actions/runner `FileCommandManager.cs`). Pure: the
 * caller reads the file and hands over its text.
 */

/**
 * What a GITHUB_ENV, GITHUB_OUTPUT or GITHUB_STATE file holds. The runner reads pairs one by
 * one and applies each as it goes, so on a malformed entry the pairs before it still take
 * effect; then it fails the step with `Unable to process file command '<env|output|state>'
 * successfully.` and `error`.
 */
export interface KeyValueFileResult {
  /** In file order; a name set twice appears twice and the last value wins. */
  readonly pairs: [string, string][];
  /** The runner's message for the first malformed entry; absent when the file is well formed. */
  readonly error?: string;
}

/** How lines end. */
export interface FileCommandOptions {
  /**
   * The runner on Windows also ends a line at CRLF. Elsewhere only LF ends a line, and a CR
   * before it stays part of the line (of the name, the value or the delimiter).
   */
  readonly windows?: boolean;
}

/**
 * Reads a key-value environment file as the runner's `EnvFileKeyValuePairs` does. A leading
 * byte order mark is ignored, as .NET's `File.ReadAllText` ignores it; empty lines are skipped.
 *
 * A line with `=` and no `<<` before it is `NAME=VALUE`, split at the first `=`; the value is
 * the rest of that line. A line with `<<` and no `=` before it is `NAME<<DELIMITER`: the value
 * is the text of the following lines up to the first line exactly equal to DELIMITER, without
 * the line break before it, and may be empty. Nothing is trimmed: `A = 1` sets `A ` to ` 1`.
 *
 * Errors, in the runner's words: a line with neither form (`Invalid format 'LINE'`); an empty
 * name or delimiter in a heredoc; a delimiter that never comes (`Invalid value. Matching
 * delimiter not found 'DELIMITER'`), or a last value line without a line break (`Invalid value.
 * EOF marker missing new line.`). An empty name in `=VALUE` is refused too (`Invalid format
 * 'LINE'. Name must not be empty`): the runner means to, but its check tests the line instead
 * of the name and lets it through.
 */
export function parseKeyValueFile(
  text: string,
  options: FileCommandOptions = {},
): KeyValueFileResult {
  const reader = new LineReader(stripBom(text), options.windows ?? false);
  const pairs: [string, string][] = [];
  const fail = (error: string): KeyValueFileResult => ({ pairs, error });
  for (let line = reader.next(); line !== undefined; line = reader.next()) {
    const { text: entry } = line;
    if (entry === "") continue;
    const equals = entry.indexOf("=");
    const heredoc = entry.indexOf("<<");
    if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
      const name = entry.slice(0, equals);
      if (name === "") return fail(`Invalid format '${entry}'. Name must not be empty`);
      pairs.push([name, entry.slice(equals + 1)]);
    } else if (heredoc >= 0) {
      const name = entry.slice(0, heredoc);
      const delimiter = entry.slice(heredoc + 2);
      if (name === "" || delimiter === "") {
        return fail(
          `Invalid format '${entry}'. Name must not be empty and delimiter must not be empty`,
        );
      }
      const start = reader.offset;
      let end = start;
      for (let next = reader.next(); next?.text !== delimiter; next = reader.next()) {
        if (next === undefined) {
          return fail(`Invalid value. Matching delimiter not found '${delimiter}'`);
        }
        if (next.newline === "") return fail("Invalid value. EOF marker missing new line.");
        end = reader.offset - next.newline.length;
      }
      pairs.push([name, reader.source.slice(start, end)]);
    } else {
      return fail(`Invalid format '${entry}'`);
    }
  }
  return { pairs };
}

/**
 * Reads a GITHUB_PATH file as the runner's `AddPathFileCommand` does: every non-empty line is a
 * directory, in file order, as written (not trimmed; a line of spaces is a directory too).
 * Lines end at LF, CRLF or a lone CR on every platform (`File.ReadAllLines`); a leading byte
 * order mark is ignored.
 *
 * The runner then drops an earlier equal entry and prepends the latest entries first: a file
 * `a`, `b` puts `b:a:` in front of PATH.
 */
export function parsePathFile(text: string): string[] {
  return stripBom(text)
    .split(/\r\n|\r|\n/)
    .filter((line) => line !== "");
}

function stripBom(text: string): string {
  return text.startsWith("\uFEFF") ? text.slice(1) : text;
}

/** One line and the break that ended it (`""` for the last line when the file lacks one). */
interface Line {
  readonly text: string;
  readonly newline: "" | "\n" | "\r\n";
}

/** The runner's `ReadLine`: walks `source` one line at a time, keeping the offset. */
class LineReader {
  offset = 0;

  constructor(
    readonly source: string,
    private readonly windows: boolean,
  ) {}

  next(): Line | undefined {
    const start = this.offset;
    if (start >= this.source.length) return undefined;
    const lf = this.source.indexOf("\n", start);
    if (lf < 0) {
      this.offset = this.source.length;
      return { text: this.source.slice(start), newline: "" };
    }
    this.offset = lf + 1;
    if (this.windows && lf > start && this.source[lf - 1] === "\r") {
      return { text: this.source.slice(start, lf - 1), newline: "\r\n" };
    }
    return { text: this.source.slice(start, lf), newline: "\n" };
  }
}
