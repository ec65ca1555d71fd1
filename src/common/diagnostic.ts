import { comparePositions, type Position } from "./position.js";

/** How bad a diagnostic is: errors make a file unusable, warnings point at risky patterns. */
export type Severity = "error" | "warning";

/**
 * One problem found in a user's file. Diagnostics are data, never thrown: a reader collects
 * all of them so the user sees every mistake at once.
 */
export interface Diagnostic {
  readonly file: string;
  readonly position: Position;
  readonly severity: Severity;
  /** Stable machine-readable code, e.g. `workflow/unknown-need`. */
  readonly code: string;
  readonly message: string;
}

/** Builds a diagnostic; `severity` defaults to error. */
export function diagnostic(
  file: string,
  position: Position,
  code: string,
  message: string,
  severity: Severity = "error",
): Diagnostic {
  return { file, position, code, message, severity };
}

/** `file:line:col: message`, the form editors and terminals turn into links. */
export function formatDiagnostic(d: Diagnostic): string {
  const tag = d.severity === "warning" ? "warning: " : "";
  return `${d.file}:${d.position.line}:${d.position.column}: ${tag}${d.message}`;
}

/** Sorts by file, then position; drops exact repeats (same place, same message). */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of list) {
    const key = `${d.file}\0${d.position.line}\0${d.position.column}\0${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out.sort(
    (a, b) => a.file.localeCompare(b.file) || comparePositions(a.position, b.position),
  );
}

/** True when any diagnostic is an error. */
export function hasErrors(list: readonly Diagnostic[]): boolean {
  return list.some((d) => d.severity === "error");
}
