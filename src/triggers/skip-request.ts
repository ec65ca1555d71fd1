/** The commands in a commit message that skip `push` and `pull_request` workflows on GitHub. */
const SKIP_COMMANDS = ["[skip ci]", "[ci skip]", "[no ci]", "[skip actions]", "[actions skip]"];

/**
 * What in a head commit's message asks GitHub not to run `push` and `pull_request`
 * workflows: one of its skip commands anywhere in the message, or a `skip-checks: true`
 * trailer (the last line, after a blank line). Undefined when nothing does.
 */
export function skipRequest(message: string | undefined): string | undefined {
  if (!message) return undefined;
  const lower = message.toLowerCase();
  const command = SKIP_COMMANDS.find((c) => lower.includes(c));
  if (command) return command;
  // The trailer must be the message's last line, after a blank line (GitHub: the last trailer).
  const lines = message.trimEnd().split("\n");
  const last = lines.at(-1)?.trim() ?? "";
  const trailerBlock = lines.slice(0, -1).some((l) => l.trim() === "");
  return trailerBlock && /^skip-checks:\s*true$/i.test(last) ? "skip-checks: true" : undefined;
}
