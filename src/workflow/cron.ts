/**
 * POSIX cron as GitHub's `on.schedule` accepts it: five fields (minute, hour, day of month,
 * month, day of week), each `*`, a value, a range `a-b`, a step `x/n`, or a list of those;
 * months and weekdays also by three-letter name. Pure.
 */
const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
  },
  { name: "day of week", min: 0, max: 6, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
] as const;

/** Why a cron expression is invalid, in words; undefined when it is valid. */
export function explainCron(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5) {
    return `cron '${expression}' has ${fields.length} field${fields.length === 1 ? "" : "s"}; it needs 5: minute hour day-of-month month day-of-week`;
  }
  for (const [i, text] of fields.entries()) {
    const field = FIELDS[i] as (typeof FIELDS)[number];
    for (const part of text.split(",")) {
      const problem = checkPart(part, field);
      if (problem) return `cron '${expression}': ${field.name} ${problem}`;
    }
  }
  return undefined;
}

function checkPart(part: string, field: (typeof FIELDS)[number]): string | undefined {
  const [range, step, extra] = part.split("/");
  if (extra !== undefined || range === undefined || range === "")
    return `'${part}' is not a value, range or step`;
  if (step !== undefined && !/^\d+$/.test(step)) return `step '${step}' must be a number`;
  if (step !== undefined && Number(step) === 0) return "step must not be 0";
  if (range === "*") return undefined;
  const ends = range.split("-");
  if (ends.length > 2) return `'${range}' is not a value or a range`;
  const values: number[] = [];
  for (const end of ends) {
    const value = parseValue(end, field);
    if (value === undefined) return `'${end}' is not a valid value`;
    if (value < field.min || value > field.max)
      return `${value} is out of range ${field.min}-${field.max}`;
    values.push(value);
  }
  if (values.length === 2 && (values[0] as number) > (values[1] as number))
    return `range '${range}' runs backwards`;
  return undefined;
}

function parseValue(text: string, field: (typeof FIELDS)[number]): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  if ("names" in field) {
    const index = (field.names as readonly string[]).indexOf(text.toUpperCase());
    if (index !== -1) return index + field.min;
  }
  return undefined;
}

/**
 * Whether a valid cron expression fires in the minute of `at`, read in UTC as GitHub does.
 * As in POSIX cron, when both day of month and day of week are restricted, either may match.
 */
export function cronMatches(expression: string, at: Date): boolean {
  const cron = fieldsOf(expression);
  return (
    matchesDay(cron, at) &&
    fieldMatches(cron, 1, at.getUTCHours()) &&
    fieldMatches(cron, 0, at.getUTCMinutes())
  );
}

/**
 * The first minute strictly after `after` in which a valid cron expression fires, or
 * undefined when it fires in none of the next `withinDays` days (`0 0 30 2 *` never does).
 */
export function nextCronTime(
  expression: string,
  after: Date,
  withinDays = 366 * 4,
): Date | undefined {
  const cron = fieldsOf(expression);
  const start = new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000);
  const day = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  for (let d = 0; d <= withinDays; d++, day.setUTCDate(day.getUTCDate() + 1)) {
    if (!matchesDay(cron, day)) continue;
    for (let hour = 0; hour < 24; hour++) {
      if (!fieldMatches(cron, 1, hour)) continue;
      for (let minute = 0; minute < 60; minute++) {
        if (!fieldMatches(cron, 0, minute)) continue;
        const at = new Date(day.getTime() + hour * 3_600_000 + minute * 60_000);
        if (at >= start) return at;
      }
    }
  }
  return undefined;
}

function fieldsOf(expression: string): string[] {
  return expression.trim().split(/\s+/);
}

function fieldMatches(cron: readonly string[], index: number, value: number): boolean {
  const field = FIELDS[index] as (typeof FIELDS)[number];
  return (cron[index] ?? "").split(",").some((part) => partMatches(part, field, value));
}

function matchesDay(cron: readonly string[], at: Date): boolean {
  if (!fieldMatches(cron, 3, at.getUTCMonth() + 1)) return false;
  const dayOfMonth = fieldMatches(cron, 2, at.getUTCDate());
  const dayOfWeek = fieldMatches(cron, 4, at.getUTCDay());
  return cron[2] !== "*" && cron[4] !== "*" ? dayOfMonth || dayOfWeek : dayOfMonth && dayOfWeek;
}

function partMatches(part: string, field: (typeof FIELDS)[number], value: number): boolean {
  const [range = "", stepText] = part.split("/");
  const step = stepText === undefined ? 1 : Number(stepText);
  let low: number = field.min;
  let high: number = field.max;
  if (range !== "*") {
    const ends = range.split("-").map((end) => parseValue(end, field) ?? Number.NaN);
    low = ends[0] as number;
    // `5/15` means from 5 to the end of the field, stepping by 15.
    high = ends.length === 2 ? (ends[1] as number) : stepText === undefined ? low : field.max;
  }
  return value >= low && value <= high && (value - low) % step === 0;
}
