import { main } from "./main.js";

// The entry point of the `trunkline` executable.
process.exitCode = await main(process.argv.slice(2));
