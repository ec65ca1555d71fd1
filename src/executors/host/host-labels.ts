// The labels a host runner answers to, for `runs-on`.

/** Labels this host answers to by default: its own, and GitHub's hosted Linux labels, which workflows name. */
export const DEFAULT_LABELS: readonly string[] = [
  "self-hosted",
  "linux",
  process.arch === "arm64" ? "arm64" : "x64",
  "ubuntu-latest",
  "ubuntu-24.04",
  "ubuntu-22.04",
  "ubuntu-20.04",
];
