// Checks that every event schema is well formed: a noun.verb type and a non-empty list of
// unique field names.
import { EVENT_SCHEMAS } from "../src/events.js";

const problems = [];
for (const [type, fields] of Object.entries(EVENT_SCHEMAS)) {
  if (!/^[a-z]+\.[a-z]+$/.test(type)) problems.push(`event type ${type} must be noun.verb`);
  if (!Array.isArray(fields) || fields.length === 0) problems.push(`${type} has no fields`);
  else if (new Set(fields).size !== fields.length) problems.push(`${type} repeats a field`);
}
for (const p of problems) console.log(`::error::${p}`);
console.log(
  `${Object.keys(EVENT_SCHEMAS).length} event schemas checked, ${problems.length} problems`,
);
process.exit(problems.length > 0 ? 1 : 0);
