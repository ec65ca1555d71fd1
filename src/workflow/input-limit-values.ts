// The input limits as values, apart from the checks (which need the YAML lexer): the CLI
// bounds a file's size with them without loading it.

/**
 * Bounds on what a workflow file may cost to read. The official parser expands aliases and
 * recurses without limits, so every file passes these checks before it reaches it.
 */
export interface InputLimits {
  /** Largest file accepted, in bytes. @default 1 MiB */
  readonly maxBytes: number;
  /** Deepest nesting of mappings and sequences. @default 256 */
  readonly maxDepth: number;
  /** Most YAML nodes after every alias is expanded (stops alias bombs). @default 200,000 */
  readonly maxExpandedNodes: number;
  /** Longest `${{ }}` expression, in characters; GitHub's runner allows 21,000. @default 21,000 */
  readonly maxExpressionLength: number;
}

/** The limits used unless a caller chooses others. */
export const DEFAULT_INPUT_LIMITS: InputLimits = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDepth: 256,
  maxExpandedNodes: 200_000,
  maxExpressionLength: 21_000,
});
