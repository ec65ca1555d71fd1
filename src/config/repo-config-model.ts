// The repository config's shape and defaults, apart from its reader (which needs the YAML
// library): planning and running import these without loading it.
import type { LocatedString } from "../workflow/model.js";

/** Where a repository keeps its Trunkline settings, relative to its root. */
export const REPO_CONFIG_PATH = ".trunkline/config.yml";

/**
 * An environment's protection rules, as GitHub's environment settings have them: required
 * reviewers (and how many must approve), a wait timer, and which branches and tags may
 * deploy to it.
 */
export interface EnvironmentConfig {
  readonly name: string;
  readonly reviewers: readonly string[];
  /** Approvals needed before jobs proceed. @default 1 when reviewers are set */
  readonly requiredApprovals: number;
  /** Minutes to wait before jobs proceed. @default 0 */
  readonly waitTimer: number;
  /** Branch name patterns allowed to deploy; undefined means any branch. */
  readonly deploymentBranches?: readonly LocatedString[];
  /** Tag name patterns allowed to deploy; undefined means any tag. */
  readonly deploymentTags?: readonly LocatedString[];
  /** Whether whoever triggered the run may approve it. @default true */
  readonly allowSelfReview: boolean;
  /** Plain (non-secret) variables for jobs using this environment, as `vars.*`. */
  readonly variables: Readonly<Record<string, string>>;
}

/** The repository's `.trunkline/config.yml`. */
export interface RepoConfig {
  readonly environments: Readonly<Record<string, EnvironmentConfig>>;
  /** Repository variables, as `vars.*`. */
  readonly variables: Readonly<Record<string, string>>;
  /** runs-on labels (lower case) to `host` or a job container image, as `--platform`. */
  readonly platforms?: Readonly<Record<string, string>>;
}

/** The config of a repository without a config file. */
export const EMPTY_REPO_CONFIG: RepoConfig = Object.freeze({ environments: {}, variables: {} });

/** The environment the config names `name`, if it names one (never an object's inherited member). */
export function configuredEnvironment(
  config: RepoConfig,
  name: string,
): EnvironmentConfig | undefined {
  return Object.hasOwn(config.environments, name) ? config.environments[name] : undefined;
}
