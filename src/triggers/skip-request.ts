/** The commands in a commit message that skip `push` and `pull_request` workflows on GitHub. */
const SKIP_COMMANDS = ["[skip ci]", "[ci skip]", "[no ci]", "[skip actions]", "[actions skip]"];

/**
 * What in a head commit's message asks GitHub not to run `push` and `pull_request`
 * workflows: one of its skip commands anywhere in the message, or a `skip-checks: true`
 * trailer (a line of the last paragraph). Undefined when nothing does.
 */
export function skipRequest(message: string | undefined): string | undefined {
  if (!message) return undefined;
  const lower = message.toLowerCase();
  const command = SKIP_COMMANDS.find((c) => lower.includes(c));
  if (command) return command;
  const paragraphs = message.trimEnd().split(/\n\s*\n/);
  const trailers = paragraphs.length > 1 ? (paragraphs.at(-1) ?? "") : "";
  return trailers.split("\n").some((l) => /^skip-checks:\s*true\s*$/i.test(l.trim()))
    ? "skip-checks: true"
    : undefined;
}
