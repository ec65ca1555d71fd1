import type { Command } from "commander";
import { InputError } from "../common/errors.js";
import { platformProblem } from "../config/platform.js";
import { collectList } from "./flags.js";

/**
 * Adds the flags that say which runs-on labels this host serves (`run` and `plan`): `--label`
 * and act's `-P LABEL=host|IMAGE`.
 */
export function addHostFlags(command: Command): Command {
  return command
    .option(
      "--label <label>",
      "an extra runner label this host answers to (repeatable)",
      collectList,
    )
    .option(
      "-P, --platform <label=host|image>",
      "run jobs whose runs-on has this label on this host, or in a job container of this image (repeatable)",
      (value: string, previous: Record<string, string> = {}) => {
        const eq = value.indexOf("=");
        const label = value.slice(0, eq).trim().toLowerCase();
        const target = value.slice(eq + 1).trim();
        const problem =
          eq <= 0 ? "expected LABEL=host or LABEL=IMAGE" : platformProblem(label, target);
        if (problem) throw new InputError(`--platform ${value}: ${problem}`);
        return { ...previous, [label]: target };
      },
    );
}
