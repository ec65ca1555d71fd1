import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** The server's data directory: `--data-dir`, else `$XDG_DATA_HOME/trunkline`. */
export function dataDirOf(options: { dataDir?: string }): string {
  return resolve(
    options.dataDir ??
      join(process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "trunkline"),
  );
}

/** Trunkline's own state on this machine (local runs, the action store, caches): `$XDG_STATE_HOME/trunkline`. */
export function stateDir(): string {
  return join(process.env.XDG_STATE_HOME ?? join(homedir(), ".local", "state"), "trunkline");
}
