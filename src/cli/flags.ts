import { InputError } from "../common/errors.js";

// Parsers of flag values shared by the commands: a bad value is an InputError naming the flag.

/** `k=v` pairs from a repeatable flag, into a record; a pair without `=` is refused. */
export function collectPairs(flag: string) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const eq = value.indexOf("=");
    if (eq <= 0) throw new InputError(`${flag} ${value}: expected KEY=VALUE`);
    return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
  };
}

/** A repeatable flag whose values may also be comma-separated, into one list. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").filter(Boolean)];
}

/** A port number (0 picks a free one). */
export function positiveIntOrZero(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InputError(`${flag} ${value}: expected a port number`);
  return n;
}

/** A whole number of at least 1. */
export function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InputError(`${flag} ${value}: expected a whole number of at least 1`);
  return n;
}

/** A whole number of at least 0. */
export function wholeOrZero(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InputError(`${flag} ${value}: expected a whole number of at least 0`);
  return n;
}
