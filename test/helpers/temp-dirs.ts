import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * A maker of throwaway directories for one test file (`trunkline-<prefix>-...` under the
 * system's temp directory), all removed after the file's tests; `keep` adds a directory made
 * elsewhere (a repository from `committed`) to those removed.
 */
export function tempDirs(prefix: string): { make: () => string; keep: (dir: string) => void } {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return {
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), `trunkline-${prefix}-`));
      dirs.push(dir);
      return dir;
    },
    keep: (dir) => {
      dirs.push(dir);
    },
  };
}
