import { NotFoundError } from "../common/errors.js";

/**
 * The row, or a {@link NotFoundError} naming what was missing; the API's error handler turns
 * it into `404 { code: "not_found", message: "no <what>" }`.
 */
export function found<T>(row: T | undefined, what: string): T {
  if (row === undefined) throw new NotFoundError(`no ${what}`);
  return row;
}
