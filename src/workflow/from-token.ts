import {
  isBasicExpression,
  isBoolean,
  isMapping,
  isNumber,
  isSequence,
  isString,
} from "@actions/workflow-parser";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";
import { TokenType } from "@actions/workflow-parser/templates/tokens/types";
import type { Position } from "../common/position.js";
import { formatExpression, multiLineValue } from "./block-scalar.js";
import type { LocatedString } from "./model.js";
import type { MapKey, Template } from "./template.js";

/** Where a parser token starts; the file start when the parser gave it no range. */
export function tokenAt(token: TemplateToken | undefined): Position {
  const start = token?.range?.start;
  return start ? { line: start.line, column: start.column } : { line: 1, column: 1 };
}

/** Copies a parser token tree into a plain {@link Template}, keeping positions. */
export function toTemplate(token: TemplateToken): Template {
  const at = tokenAt(token);
  if (isBasicExpression(token)) {
    const parts = token.originalExpressions?.map((e) => ({ expr: e.expression, at: tokenAt(e) }));
    const multiLine = token.source?.includes("\n") && token.originalExpressions !== undefined;
    const value = multiLine
      ? multiLineValue(token.source as string, token.blockScalarHeader)
      : undefined;
    return {
      kind: "expr",
      expr: (value !== undefined ? formatExpression(value) : undefined) ?? token.expression,
      at,
      ...(parts ? { parts } : {}),
      ...(token.source !== undefined ? { source: token.source } : {}),
    };
  }
  if (isString(token)) return { kind: "string", value: token.value, at };
  if (isNumber(token)) return { kind: "number", value: token.value, at };
  if (isBoolean(token)) return { kind: "boolean", value: token.value, at };
  if (isSequence(token)) {
    const items: Template[] = [];
    for (const item of token) items.push(toTemplate(item));
    return { kind: "seq", items, at };
  }
  if (isMapping(token)) {
    const entries: [string, Template, MapKey?][] = [];
    for (const pair of token) {
      const key = isString(pair.key) ? pair.key.value : String(pair.key);
      const made: MapKey | undefined = isBasicExpression(pair.key)
        ? { expr: pair.key.expression }
        : pair.key.templateTokenType === TokenType.InsertExpression
          ? { insert: true }
          : undefined;
      entries.push(made ? [key, toTemplate(pair.value), made] : [key, toTemplate(pair.value)]);
    }
    return { kind: "map", entries, at };
  }
  return { kind: "null", at };
}

/** The entries of a mapping token as `[key, value]`; empty for anything else. */
export function entriesOf(
  token: TemplateToken | undefined,
): [string, TemplateToken, TemplateToken][] {
  if (!token || !isMapping(token)) return [];
  const out: [string, TemplateToken, TemplateToken][] = [];
  for (const pair of token) {
    if (isString(pair.key)) out.push([pair.key.value, pair.value, pair.key]);
  }
  return out;
}

/** A scalar token's text (strings, numbers, booleans); undefined otherwise. */
export function textOf(token: TemplateToken | undefined): string | undefined {
  if (!token) return undefined;
  if (isString(token)) return token.value;
  if (isNumber(token) || isBoolean(token)) return String(token.value);
  return undefined;
}

/** A string or a sequence of strings, each with its position (GitHub accepts both forms). */
export function stringList(token: TemplateToken | undefined): LocatedString[] {
  if (!token) return [];
  if (isSequence(token)) {
    const out: LocatedString[] = [];
    for (const item of token) {
      const text = textOf(item);
      if (text !== undefined) out.push({ value: text, at: tokenAt(item) });
    }
    return out;
  }
  const text = textOf(token);
  return text === undefined ? [] : [{ value: text, at: tokenAt(token) }];
}
