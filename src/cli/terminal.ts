import pc from "picocolors";

/** Colours for terminal output, switched off when the stream is not a TTY or NO_COLOR is set. */
export type Palette = ReturnType<typeof pc.createColors>;

/** A palette for `stream`: colour on a TTY unless NO_COLOR is set; FORCE_COLOR forces it on. */
export function paletteFor(
  stream: { isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): Palette {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0";
  const enabled =
    forced || (stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== "dumb");
  return pc.createColors(enabled);
}

/** Where a command writes: separate streams so tests can capture them. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  readonly colors: Palette;
  readonly errColors: Palette;
}

/** The process's own stdout and stderr. */
export function processOutput(): Output {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    colors: paletteFor(process.stdout),
    errColors: paletteFor(process.stderr),
  };
}
