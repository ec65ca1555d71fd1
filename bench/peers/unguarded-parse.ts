// The official parser with no guard in front of it: what `trunkline validate` would do
// without src/workflow/input-limits.ts. Bundled by bench/hostile-input.mjs (the parser's
// JSON import needs a bundler under Node 20).
import { readFileSync } from "node:fs";
import {
  convertWorkflowTemplate,
  NoOperationTraceWriter,
  parseWorkflow,
} from "@actions/workflow-parser";

const file = process.argv[2] as string;
const parsed = parseWorkflow(
  { name: file, content: readFileSync(file, "utf8") },
  new NoOperationTraceWriter(),
);
if (parsed.value) await convertWorkflowTemplate(parsed.context, parsed.value);
console.log(`${parsed.context.errors.getErrors().length} errors`);
