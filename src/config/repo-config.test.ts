import { describe, expect, test } from "vitest";
import { formatDiagnostic } from "../common/diagnostic.js";
import { readRepoConfig } from "./repo-config.js";
import { configuredEnvironment } from "./repo-config-model.js";

describe("repository config", () => {
  test("environments with protection rules and variables", () => {
    const { config, diagnostics } = readRepoConfig(
      "c.yml",
      [
        "variables:",
        "  REGION: eu-west-1",
        "environments:",
        "  development:",
        "  staging:",
        "    reviewers: [ana]",
        "    wait-timer: 10",
        "    deployment-branches: [main]",
        "    variables: { URL: https://staging.example.com }",
        "  production:",
        "    reviewers: [ana, bo, cy]",
        "    required-approvals: 2",
        "    deployment-tags: ['v*']",
        "    allow-self-review: false",
      ].join("\n"),
    );
    expect(diagnostics).toEqual([]);
    expect(config.variables).toEqual({ REGION: "eu-west-1" });
    expect(config.environments.development).toMatchObject({
      reviewers: [],
      requiredApprovals: 0,
      waitTimer: 0,
    });
    expect(config.environments.staging).toMatchObject({
      reviewers: ["ana"],
      requiredApprovals: 1,
      waitTimer: 10,
      variables: { URL: "https://staging.example.com" },
    });
    expect(config.environments.staging?.deploymentBranches?.map((p) => p.value)).toEqual(["main"]);
    expect(config.environments.production).toMatchObject({
      requiredApprovals: 2,
      allowSelfReview: false,
    });
  });

  test("an empty file is an empty config", () => {
    expect(readRepoConfig("c.yml", "# nothing yet\n")).toEqual({
      config: { environments: {}, variables: {} },
      diagnostics: [],
    });
  });

  test("every mistake is reported at its place", () => {
    const { diagnostics } = readRepoConfig(
      "c.yml",
      [
        "environment: {}",
        "environments:",
        "  prod:",
        "    reviewer: [ana]",
        "    wait-timer: soon",
        "    required-approvals: 3",
        "    reviewers: [ana]",
        "    deployment-branches: ['[]']",
        "    allow-self-review: maybe",
        "    variables: { 1X: a }",
      ].join("\n"),
    );
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      "c.yml:1:1: unknown key 'environment'; expected 'environments', 'variables' or 'platforms'",
      "c.yml:4:5: unknown key 'reviewer' in environment 'prod'; expected one of reviewers, required-approvals, wait-timer, deployment-branches, deployment-tags, allow-self-review, variables",
      "c.yml:5:17: environments.prod.wait-timer must be a whole number of minutes",
      "c.yml:8:27: invalid environments.prod.deployment-branches pattern '[]': empty brackets '[]'",
      "c.yml:9:24: environments.prod.allow-self-review must be true or false",
      "c.yml:10:18: variable name '1X' must be letters, digits and '_'",
      "c.yml:4:5: environment 'prod' requires 3 approvals but names 1 reviewer(s)",
    ]);
  });

  test("platforms map runs-on labels to the host or an image; mistakes at their place", () => {
    const good = readRepoConfig(
      "c.yml",
      "platforms:\n  GPU: host\n  ubuntu-22.04: localhost/ci/ubuntu:22.04\n",
    );
    expect(good).toEqual({
      config: {
        environments: {},
        variables: {},
        platforms: { gpu: "host", "ubuntu-22.04": "localhost/ci/ubuntu:22.04" },
      },
      diagnostics: [],
    });
    const bad = readRepoConfig("c.yml", "platforms:\n  gpu: ''\n  arm: two words\n");
    expect(bad.diagnostics.map(formatDiagnostic)).toEqual([
      "c.yml:2:8: platforms.gpu: expected 'host' or a container image",
      "c.yml:3:8: platforms.arm: 'two words' is not a container image",
    ]);
  });

  test("YAML syntax errors and a non-mapping root", () => {
    expect(readRepoConfig("c.yml", "environments: [\n").diagnostics.map((d) => d.code)).toContain(
      "config/yaml",
    );
    expect(readRepoConfig("c.yml", "- a\n").diagnostics.map(formatDiagnostic)).toEqual([
      "c.yml:1:1: the config must be a mapping with 'environments', 'variables' and 'platforms'",
    ]);
  });

  test("a wait timer of more than 30 days is refused, as on GitHub; roles admit several reviewers", () => {
    const { config, diagnostics } = readRepoConfig(
      "c.yml",
      [
        "environments:",
        "  slow:",
        "    wait-timer: 43201",
        "  prod:",
        "    reviewers: [Maintainer]",
        "    required-approvals: 2",
        "  constructor:",
        "    wait-timer: 43200",
      ].join("\n"),
    );
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      "c.yml:3:17: environments.slow.wait-timer must be at most 43200 minutes (30 days), as on GitHub",
    ]);
    expect(configuredEnvironment(config, "constructor")?.waitTimer).toBe(43_200);
    expect(configuredEnvironment(config, "toString")).toBeUndefined();
  });
});
