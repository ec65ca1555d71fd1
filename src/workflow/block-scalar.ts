import { parseDocument } from "yaml";

/**
 * The official parser builds the `format(...)` of a multi-line string with embedded `${{ }}`
 * from the string's source text (indentation, and the unfolded lines of `>` scalars,
 * included), which is right for positions but wrong for running it: a Python script would
 * gain indentation. These helpers rebuild the expression from the string's YAML value.
 */

/** The value of a multi-line scalar from its source text and block header (`|`, `>-`, ...). */
export function multiLineValue(source: string, header: string | undefined): string | undefined {
  const doc = parseDocument(`x: ${header ? `${header}\n` : ""}${source}`);
  if (doc.errors.length > 0) return undefined;
  const value = doc.get("x");
  return typeof value === "string" ? value : undefined;
}

/**
 * The expression GitHub evaluates for a string with embedded `${{ }}`: the expression alone
 * when it is the whole string, otherwise `format('literal {0} literal', expr, ...)`, with
 * quotes and braces of the literal parts escaped. Undefined when an expression is not closed.
 */
export function formatExpression(value: string): string | undefined {
  const literals: string[] = [];
  const args: string[] = [];
  let i = 0;
  let literal = "";
  while (i < value.length) {
    const open = value.indexOf("${{", i);
    if (open === -1) {
      literal += value.slice(i);
      break;
    }
    literal += value.slice(i, open);
    let inString = false;
    let close = -1;
    for (let j = open + 3; j < value.length; j++) {
      if (value[j] === "'") inString = !inString;
      else if (!inString && value[j] === "}" && value[j - 1] === "}") {
        close = j;
        break;
      }
    }
    if (close === -1) return undefined;
    literals.push(literal);
    literal = "";
    args.push(value.slice(open + 3, close - 1).trim());
    i = close + 1;
  }
  if (args.length === 1 && literals[0] === "" && literal === "") return args[0];
  const escapeLiteral = (s: string) =>
    s.replace(/'/g, "''").replace(/\{/g, "{{").replace(/\}/g, "}}");
  const format =
    literals.map((l, n) => `${escapeLiteral(l)}{${n}}`).join("") + escapeLiteral(literal);
  return `format('${format}'${args.map((a) => `, ${a}`).join("")})`;
}
