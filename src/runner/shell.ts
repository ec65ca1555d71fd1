import { InputError } from "../common/errors.js";

/** How to run a `run:` script: the argv (with the script path in place of `{0}`) and the file's extension. */
export interface ShellCommand {
  readonly argv: readonly string[];
  readonly extension: string;
}

/**
 * GitHub's shells on Linux. An unspecified shell is `bash -e {0}` (without pipefail);
 * `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`; any other value is a template
 * whose first word is the program and where `{0}` stands for the script file.
 */
const BUILT_IN: Readonly<Record<string, { template: string; extension: string }>> = {
  "": { template: "bash -e {0}", extension: ".sh" },
  bash: { template: "bash --noprofile --norc -eo pipefail {0}", extension: ".sh" },
  sh: { template: "sh -e {0}", extension: ".sh" },
  python: { template: "python {0}", extension: ".py" },
  pwsh: { template: "pwsh -command . '{0}'", extension: ".ps1" },
};

const WINDOWS_ONLY = new Set(["cmd", "powershell"]);

/** Resolves a step's `shell:` (or the default) into the command that runs `scriptPath`. */
export function resolveShell(shell: string | undefined, scriptPath: string): ShellCommand {
  const name = (shell ?? "").trim();
  if (WINDOWS_ONLY.has(name))
    throw new InputError(`shell '${name}' is only available on Windows runners`);
  const known = BUILT_IN[name];
  const template = known?.template ?? name;
  if (!known && !template.includes("{0}")) {
    throw new InputError(`shell '${name}' is not a known shell and has no {0} for the script path`);
  }
  const argv = template
    .split(/\s+/)
    .filter((w) => w.length > 0)
    .map((w) => w.replaceAll("{0}", scriptPath));
  return { argv, extension: known?.extension ?? extensionFor(argv[0] ?? "") };
}

function extensionFor(program: string): string {
  if (/python/.test(program)) return ".py";
  if (/node|deno|bun/.test(program)) return ".js";
  if (/pwsh|powershell/.test(program)) return ".ps1";
  return ".sh";
}
