import pc from "picocolors";
import { main } from "../../src/cli/main.js";
import type { Output } from "../../src/cli/terminal.js";

/** What a CLI run printed and returned. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with captured, colourless output. */
export async function runCli(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const colors = pc.createColors(false);
  const io: Output = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    colors,
    errColors: colors,
  };
  const code = await main(args, io);
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** The texts of the JSON lines `run --json` printed (log lines, in order). */
export function jsonTexts(result: CliResult): string[] {
  return result.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => (JSON.parse(l) as { text?: string }).text ?? "");
}
