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
  const fields = expression.trim().split(/\s+/);
  const actual = [
    at.getUTCMinutes(),
    at.getUTCHours(),
    at.getUTCDate(),
    at.getUTCMonth() + 1,
    at.getUTCDay(),
  ];
  const hits = FIELDS.map((field, i) =>
    (fields[i] ?? "").split(",").some((part) => partMatches(part, field, actual[i] as number)),
  );
  const [minute, hour, dayOfMonth, month, dayOfWeek] = hits;
  const bothDays = fields[2] !== "*" && fields[4] !== "*";
  const day = bothDays ? dayOfMonth || dayOfWeek : dayOfMonth && dayOfWeek;
  return Boolean(minute && hour && month && day);
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
