import { main } from "./main.js";

/** The status of a process that SIGPIPE ended (128 + 13), as a shell reports `seq 1e9 | head -1`'s. */
const CLOSED_OUTPUT = 141;

// A reader that stops early (`trunkline runs list app | head -1`) closes the pipe: there is
// no one left to write for, so the command ends at once and quietly, as Unix tools ended by
// SIGPIPE do (Node ignores the signal and reports EPIPE on the stream instead). Any other
// error of the streams is not the user's doing and stays loud.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(CLOSED_OUTPUT);
    throw err;
  });
}

// The entry point of the `trunkline` executable.
process.exitCode = await main(process.argv.slice(2));
