import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from "yaml";
import { type Diagnostic, diagnostic } from "../common/diagnostic.js";
import { FILE_START, type Position } from "../common/position.js";
import { isRole } from "../common/roles.js";
import { patternDiagnostics } from "../workflow/filter-pattern.js";
import { checkInputLimits } from "../workflow/input-limits.js";
import type { LocatedString } from "../workflow/model.js";
import { platformProblem } from "./platform.js";
import { EMPTY_REPO_CONFIG, type EnvironmentConfig, type RepoConfig } from "./repo-config-model.js";

export {
  EMPTY_REPO_CONFIG,
  type EnvironmentConfig,
  REPO_CONFIG_PATH,
  type RepoConfig,
} from "./repo-config-model.js";

/** The result of reading a config file: the config (defaults where it is broken) and its problems. */
export interface ReadConfigResult {
  readonly config: RepoConfig;
  readonly diagnostics: readonly Diagnostic[];
}

const ENV_KEYS = new Set([
  "reviewers",
  "required-approvals",
  "wait-timer",
  "deployment-branches",
  "deployment-tags",
  "allow-self-review",
  "variables",
]);

/** Parses and validates `.trunkline/config.yml`; never throws on user input. */
export function readRepoConfig(file: string, content: string): ReadConfigResult {
  const refused = checkInputLimits(file, content);
  if (refused.length > 0) return { config: EMPTY_REPO_CONFIG, diagnostics: refused };
  const lines = new LineCounter();
  const doc = parseDocument(content, { lineCounter: lines });
  const out: Diagnostic[] = [];
  const at = (node: Node | null | undefined): Position => {
    const offset = node?.range?.[0];
    if (offset === undefined) return FILE_START;
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const err = (node: Node | null | undefined, message: string) =>
    out.push(diagnostic(file, at(node), "config/invalid", message));
  for (const e of doc.errors) {
    const p = e.linePos?.[0];
    out.push(
      diagnostic(
        file,
        p ? { line: p.line, column: p.col } : FILE_START,
        "config/yaml",
        e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, ""),
      ),
    );
  }
  if (out.length > 0) return { config: EMPTY_REPO_CONFIG, diagnostics: out };
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null))
    return { config: EMPTY_REPO_CONFIG, diagnostics: [] };
  if (!isMap(root)) {
    err(root, "the config must be a mapping with 'environments', 'variables' and 'platforms'");
    return { config: EMPTY_REPO_CONFIG, diagnostics: out };
  }
  // No prototype: an environment named `constructor` or `__proto__` is one like any other.
  const environments: Record<string, EnvironmentConfig> = Object.create(null);
  let variables: Record<string, string> = {};
  let platforms: Record<string, string> | undefined;
  for (const pair of (root as YAMLMap<Node, Node>).items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if (key === "environments") {
      if (!isMap(pair.value)) {
        err(pair.value ?? pair.key, "'environments' must map environment names to their settings");
        continue;
      }
      for (const envPair of (pair.value as YAMLMap<Node, Node>).items) {
        const name = isScalar(envPair.key) ? String(envPair.key.value) : "";
        environments[name] = readEnvironment(name, envPair.value, err);
      }
    } else if (key === "variables") {
      variables = readVariables(pair.value, "variables", err);
    } else if (key === "platforms") {
      platforms = readPlatforms(pair.value);
    } else {
      err(pair.key, `unknown key '${key}'; expected 'environments', 'variables' or 'platforms'`);
    }
  }
  return {
    config: { environments, variables, ...(platforms ? { platforms } : {}) },
    diagnostics: out,
  };

  /** `platforms:`: runs-on labels to `host` or a container image, as `--platform` takes them. */
  function readPlatforms(node: Node | null): Record<string, string> {
    const out: Record<string, string> = {};
    if (node === null) return out;
    if (!isMap(node)) {
      err(node, "'platforms' must map runs-on labels to 'host' or a container image");
      return out;
    }
    for (const pair of (node as YAMLMap<Node, Node>).items) {
      const label = isScalar(pair.key) ? String(pair.key.value) : "";
      const value = isScalar(pair.value) ? String(pair.value.value ?? "").trim() : "";
      const problem = platformProblem(label, value);
      if (problem) err(pair.value ?? pair.key, `platforms.${label}: ${problem}`);
      else out[label.toLowerCase()] = value;
    }
    return out;
  }

  function readEnvironment(name: string, node: Node | null, report: typeof err): EnvironmentConfig {
    const env = {
      name,
      reviewers: [] as string[],
      requiredApprovals: 0,
      waitTimer: 0,
      allowSelfReview: true,
      variables: {} as Record<string, string>,
    } as { -readonly [K in keyof EnvironmentConfig]: EnvironmentConfig[K] };
    if (node === null || (isScalar(node) && node.value === null)) return env;
    if (!isMap(node)) {
      report(node, `environment '${name}' must be a mapping of settings`);
      return env;
    }
    for (const pair of (node as YAMLMap<Node, Node>).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      const value = pair.value;
      const field = `environments.${name}.${key}`;
      if (!ENV_KEYS.has(key)) {
        report(
          pair.key,
          `unknown key '${key}' in environment '${name}'; expected one of ${[...ENV_KEYS].join(", ")}`,
        );
      } else if (key === "reviewers") {
        env.reviewers = strings(value, field, report).map((s) => s.value);
      } else if (key === "required-approvals" || key === "wait-timer") {
        const n = isScalar(value) ? value.value : undefined;
        if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
          report(
            value ?? pair.key,
            `${field} must be a whole number of ${key === "wait-timer" ? "minutes" : "approvals"}`,
          );
        } else if (key === "wait-timer" && n > 43_200) {
          report(value, `${field} must be at most 43200 minutes (30 days), as on GitHub`);
        } else if (key === "wait-timer") env.waitTimer = n;
        else env.requiredApprovals = n;
      } else if (key === "deployment-branches" || key === "deployment-tags") {
        const patterns = strings(value, field, report);
        out.push(...patternDiagnostics(file, field, patterns, "config/invalid"));
        if (key === "deployment-branches") env.deploymentBranches = patterns;
        else env.deploymentTags = patterns;
      } else if (key === "allow-self-review") {
        const b = isScalar(value) ? value.value : undefined;
        if (typeof b !== "boolean") report(value ?? pair.key, `${field} must be true or false`);
        else env.allowSelfReview = b;
      } else if (key === "variables") {
        env.variables = readVariables(value, field, report);
      }
    }
    if (env.reviewers.length > 0 && env.requiredApprovals === 0) env.requiredApprovals = 1;
    // A role admits many reviewers; named users are counted.
    const named =
      env.reviewers.length > 0 && !env.reviewers.some((r) => isRole(r.trim().toLowerCase()));
    if (named && env.requiredApprovals > env.reviewers.length) {
      report(
        node,
        `environment '${name}' requires ${env.requiredApprovals} approvals but names ${env.reviewers.length} reviewer(s)`,
      );
    }
    return env;
  }

  function strings(node: Node | null, field: string, report: typeof err): LocatedString[] {
    const items = isSeq(node) ? (node.items as Node[]) : node ? [node] : [];
    const result: LocatedString[] = [];
    for (const item of items) {
      if (isScalar(item) && (typeof item.value === "string" || typeof item.value === "number")) {
        result.push({ value: String(item.value), at: at(item) });
      } else report(item, `${field} must be a list of names`);
    }
    return result;
  }

  function readVariables(
    node: Node | null,
    field: string,
    report: typeof err,
  ): Record<string, string> {
    const vars: Record<string, string> = {};
    if (node === null) return vars;
    if (!isMap(node)) {
      report(node, `${field} must map names to values`);
      return vars;
    }
    for (const pair of (node as YAMLMap<Node, Node>).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
        report(pair.key, `variable name '${key}' must be letters, digits and '_'`);
      else if (!isScalar(pair.value))
        report(pair.value ?? pair.key, `variable ${key} must be a single value`);
      else vars[key] = String(pair.value.value ?? "");
    }
    return vars;
  }
}
