import {
  type Document,
  isAlias,
  isCollection,
  isPair,
  isScalar,
  type Node,
  parseDocument,
} from "yaml";
import { type Diagnostic, diagnostic } from "../common/diagnostic.js";
import { FILE_START, positionAt } from "../common/position.js";
import { DEFAULT_INPUT_LIMITS, type InputLimits } from "./input-limit-values.js";

export { DEFAULT_INPUT_LIMITS, type InputLimits } from "./input-limit-values.js";

const CODE = "workflow/limit";

/** An anchor (`&name`) where YAML allows one; false positives only cost the slower check. */
const ANCHOR = /(?:^|[\s[{,:-])&[^\s&]/m;

/**
 * Checks `content` against `limits` in time linear in its size. Returns the problems found;
 * an empty list means the file is safe to hand to the official parser.
 */
export function checkInputLimits(
  file: string,
  content: string,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): Diagnostic[] {
  const bytes = Buffer.byteLength(content, "utf8");
  if (bytes > limits.maxBytes) {
    return [
      diagnostic(
        file,
        FILE_START,
        CODE,
        `file is ${formatBytes(bytes)}; the limit is ${formatBytes(limits.maxBytes)}`,
      ),
    ];
  }
  const shallow = scanNesting(file, content, limits.maxDepth);
  if (shallow) return [shallow];
  const expression = scanExpressions(file, content, limits.maxExpressionLength);
  if (expression) return [expression];
  // Without an anchor nothing can be expanded, and the scan above bounds the nesting: the
  // exact walk below (a full parse) is only needed for files that use anchors.
  if (!ANCHOR.test(content)) return [];
  const doc = parseDocument(content, { uniqueKeys: false });
  const exhausted = doc.errors.find((e) => e.code === "RESOURCE_EXHAUSTION");
  if (exhausted) {
    const at = exhausted.linePos?.[0];
    return [tooDeep(file, at ? { line: at.line, column: at.col } : FILE_START, limits.maxDepth)];
  }
  const expanded = measureExpanded(doc, limits);
  if (expanded?.kind === "depth") {
    return [tooDeep(file, positionAt(content, expanded.offset), limits.maxDepth)];
  }
  if (expanded?.kind === "nodes") {
    return [
      diagnostic(
        file,
        positionAt(content, expanded.offset),
        CODE,
        `aliases expand to more than ${limits.maxExpandedNodes} nodes (an alias bomb?); refusing to read further`,
      ),
    ];
  }
  return [];
}

function tooDeep(
  file: string,
  position: { line: number; column: number },
  max: number,
): Diagnostic {
  return diagnostic(file, position, CODE, `nesting is deeper than ${max} levels`);
}

/**
 * A fast upper bound on nesting: block depth never exceeds the indentation column plus the
 * run of `- ` indicators, and flow depth is the count of open brackets. Exact depth is
 * checked on the parsed document; this scan only refuses absurd files before parsing them.
 */
function scanNesting(file: string, content: string, maxDepth: number): Diagnostic | undefined {
  const maxColumns = maxDepth * 4;
  let flow = 0;
  let lineStart = 0;
  let atLineStart = true;
  let indent = 0;
  let quote = "";
  for (let i = 0; i < content.length; i++) {
    const c = content[i];
    if (c === "\n") {
      lineStart = i + 1;
      atLineStart = true;
      indent = 0;
      quote = "";
      continue;
    }
    if (atLineStart) {
      if (c === " " || c === "\t" || (c === "-" && content[i + 1] === " ")) {
        indent++;
        if (indent > maxColumns) return tooDeep(file, positionAt(content, lineStart), maxDepth);
        continue;
      }
      atLineStart = false;
    }
    if (quote) {
      if (c === quote) quote = "";
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === "[" || c === "{") {
      if (++flow > maxDepth) return tooDeep(file, positionAt(content, i), maxDepth);
    } else if ((c === "]" || c === "}") && flow > 0) flow--;
  }
  return undefined;
}

/** Finds a `${{ ... }}` longer than `max` characters (or one never closed that runs past it). */
function scanExpressions(file: string, content: string, max: number): Diagnostic | undefined {
  for (let open = content.indexOf("${{"); open !== -1; open = content.indexOf("${{", open + 3)) {
    const close = content.indexOf("}}", open + 3);
    const length = (close === -1 ? content.length : close + 2) - open;
    if (length > max) {
      return diagnostic(
        file,
        positionAt(content, open),
        CODE,
        `expression is ${length} characters long; the limit is ${max}`,
      );
    }
    if (close === -1) return undefined;
    open = close;
  }
  return undefined;
}

/**
 * Walks the document as the official parser will see it, aliases expanded, without recursion
 * and memoising each anchored node's size. Returns where the depth or the node count first
 * passes its limit, or undefined when the file is within both.
 */
function measureExpanded(
  doc: Document,
  limits: InputLimits,
): { kind: "depth" | "nodes"; offset: number } | undefined {
  const size = new Map<Node, number>();
  type Frame = { node: Node; children: Node[]; next: number; total: number };
  const root = doc.contents;
  if (!root) return undefined;
  const stack: Frame[] = [{ node: root, children: childrenOf(root), next: 0, total: 1 }];
  let count = 1;
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Frame;
    if (top.next < top.children.length) {
      const child = top.children[top.next++] as Node;
      const target = isAlias(child) ? (child.resolve(doc) as Node | undefined) : child;
      if (!target) continue;
      const known = size.get(target);
      if (known !== undefined) {
        top.total += known;
        count += known;
      } else if (stack.some((f) => f.node === target)) {
        continue; // a cycle through an alias: the parser ignores it too
      } else {
        stack.push({ node: target, children: childrenOf(target), next: 0, total: 1 });
        count++;
        if (stack.length > limits.maxDepth) return { kind: "depth", offset: child.range?.[0] ?? 0 };
      }
      if (count > limits.maxExpandedNodes) return { kind: "nodes", offset: child.range?.[0] ?? 0 };
    } else {
      stack.pop();
      size.set(top.node, top.total);
      const parent = stack[stack.length - 1];
      if (parent) parent.total += top.total;
    }
  }
  return undefined;
}

function childrenOf(node: Node): Node[] {
  if (!isCollection(node)) return [];
  const out: Node[] = [];
  for (const item of node.items as unknown[]) {
    if (isPair(item)) {
      if (isScalar(item.key) || isCollection(item.key)) out.push(item.key as Node);
      if (item.value) out.push(item.value as Node);
    } else out.push(item as Node);
  }
  return out;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
