/** A place in a source file. Lines and columns are 1-based, as editors show them. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** A span in a source file, both ends 1-based. */
export interface Range {
  readonly start: Position;
  readonly end: Position;
}

/** The first position of a file, for problems that belong to the file as a whole. */
export const FILE_START: Position = Object.freeze({ line: 1, column: 1 });

/** Orders positions by line, then column. */
export function comparePositions(a: Position, b: Position): number {
  return a.line - b.line || a.column - b.column;
}

/** 1-based position of a character offset in `text` (used for hand-made diagnostics). */
export function positionAt(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}
