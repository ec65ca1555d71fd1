import { join, resolve } from "node:path";
import type { Command } from "commander";
import { configuredSources } from "../actions/action-sources.js";
import { ActionStore } from "../actions/action-store.js";
import { InputError } from "../common/errors.js";
import { nodeSources } from "../toolcache/node-sources.js";
import { GITHUB_PYTHON_MANIFEST, PythonInstalls } from "../toolcache/python-installs.js";
import { stateDir } from "./data-dir.js";
import { collectList } from "./flags.js";

/**
 * The secret that carries the git hosts' token where `$TRUNKLINE_ACTIONS_TOKEN` is not set: a
 * local run's (`--secret`, `--secret-file`), a server's organisation secret.
 */
export const ACTIONS_TOKEN_SECRET = "TRUNKLINE_ACTIONS_TOKEN";

/** Where remote actions come from, as the flags say. */
export interface ActionFlags {
  /** `--action-mirror` values, directories made absolute. */
  readonly mirrors: readonly string[];
  /** `--actions-url` values (`URL`, `OWNER=URL` or `none`); empty for the default. */
  readonly urls: readonly string[];
  /** `$TRUNKLINE_ACTIONS_TOKEN`: sent to the git hosts (not to mirrors); else {@link ACTIONS_TOKEN_SECRET}. */
  readonly token?: string;
  /** `--offline`: mirrors and the refs the store remembers only; no git host is asked. */
  readonly offline?: boolean;
  /** `--node-source` values (`nodejs:URL`, `npm:URL`); empty for the default. */
  readonly nodeSources: readonly string[];
  /** `--python-source` values (versions manifest URLs); empty for GitHub's. */
  readonly pythonSources: readonly string[];
}

/** The machine's action store (`<state dir>/actions`), with the sources the flags name. */
export function localActionStore(flags: ActionFlags): ActionStore {
  return new ActionStore(
    join(stateDir(), "actions"),
    configuredSources(flags.mirrors, flags.offline ? ["none"] : flags.urls, flags.token),
    { remembered: flags.offline === true },
  );
}

/**
 * Adds `--action-mirror` and `--actions-url` (shared by `run`, `plan`, `validate`, `serve` and
 * `agent`), and `--offline` where `offline` is set.
 */
export function addActionFlags(
  command: Command,
  urlDefault = "https://github.com",
  offline = false,
): Command {
  if (offline)
    command.option(
      "--offline",
      "ask no git host for actions: the mirrors, then what the action store already holds (the commit each ref last resolved to)",
    );
  return command
    .option(
      "--action-mirror <dir|owner/repo=path>",
      "where remote actions are found first, without the internet: a directory holding <owner>/<repo>, or owner/repo=<dir or git URL> (repeatable)",
      collectList,
    )
    .option(
      "--node-source <nodejs:URL|npm:URL>",
      "where Node runtimes for node actions come from: nodejs.org's dist layout or a registry's node-<platform> packages (default: $TRUNKLINE_NODE_SOURCE, else nodejs:https://nodejs.org/dist then npm:https://registry.npmjs.org) (repeatable)",
      (value: string, previous: string[] = []) => [...previous, checkNodeSource(value)],
    )
    .option(
      "--python-source <url>",
      "where setup-python installs Python from: a versions-manifest.json in actions/python-versions' format (default: $TRUNKLINE_PYTHON_SOURCE, else GitHub's) (repeatable)",
      (value: string, previous: string[] = []) => [...previous, checkHttpUrl(value)],
    )
    .option(
      "--actions-url <[owner=]url>",
      `the git host owner/repo@ref actions are fetched from (default: $TRUNKLINE_ACTIONS_URL, else ${urlDefault}); OWNER=URL for one owner's; 'none' for mirrors only (repeatable)`,
      (value: string, previous: string[] = []) => [...previous, checkUrl(value)],
    );
}

/**
 * The flags' values; relative mirror directories are taken from `cwd`. `$TRUNKLINE_ACTIONS_URL`
 * stands in for a missing `--actions-url` unless `useEnv` is false (an agent, whose default
 * source is its server).
 */
export function actionFlags(
  opts: Record<string, unknown>,
  cwd: string,
  useEnv = true,
): ActionFlags {
  const fromEnv = useEnv ? process.env.TRUNKLINE_ACTIONS_URL : undefined;
  const urls =
    (opts.actionsUrl as string[] | undefined) ??
    (fromEnv ? [checkUrl(fromEnv, "$TRUNKLINE_ACTIONS_URL")] : []);
  const token = process.env.TRUNKLINE_ACTIONS_TOKEN;
  return {
    mirrors: ((opts.actionMirror as string[] | undefined) ?? []).map((m) => absoluteMirror(m, cwd)),
    urls,
    ...(token ? { token } : {}),
    ...(opts.offline === true ? { offline: true } : {}),
    nodeSources:
      (opts.nodeSource as string[] | undefined) ??
      (process.env.TRUNKLINE_NODE_SOURCE
        ? [checkNodeSource(process.env.TRUNKLINE_NODE_SOURCE, "$TRUNKLINE_NODE_SOURCE")]
        : []),
    pythonSources:
      (opts.pythonSource as string[] | undefined) ??
      (process.env.TRUNKLINE_PYTHON_SOURCE
        ? [checkHttpUrl(process.env.TRUNKLINE_PYTHON_SOURCE, "$TRUNKLINE_PYTHON_SOURCE")]
        : []),
  };
}

/** The machine's Pythons in its tool cache, installed from the `--python-source` manifests. */
export function pythonInstalls(toolCache: string, flags: Pick<ActionFlags, "pythonSources">) {
  return new PythonInstalls(
    toolCache,
    flags.pythonSources.length > 0 ? flags.pythonSources : [GITHUB_PYTHON_MANIFEST],
  );
}

function checkHttpUrl(value: string, flag = "--python-source"): string {
  if (!/^https?:\/\/./.test(value))
    throw new InputError(`${flag} ${value}: expected an http(s) URL`);
  return value;
}

function checkNodeSource(value: string, flag = "--node-source"): string {
  nodeSources([value], flag);
  return value;
}

function checkUrl(value: string, flag = "--actions-url"): string {
  if (value === "none") return value;
  const scheme = value.indexOf("://");
  const eq = value.indexOf("=");
  const url = eq !== -1 && (scheme === -1 || eq < scheme) ? value.slice(eq + 1) : value;
  const owner = url === value ? undefined : value.slice(0, eq);
  if (owner !== undefined && !/^[A-Za-z0-9_.-]+$/.test(owner))
    throw new InputError(`${flag} ${value}: '${owner}' is not an owner name`);
  if (!/^(https?|file|ssh|git):\/\/./.test(url))
    throw new InputError(
      `${flag} ${value}: expected a URL (https://HOST[/PATH]), OWNER=URL or 'none'`,
    );
  return value;
}

/** A mirror's directory from `cwd`, as the user wrote it; URLs pass through. */
function absoluteMirror(mirror: string, cwd: string): string {
  const eq = mirror.indexOf("=");
  const [prefix, place] =
    eq === -1 ? ["", mirror] : [mirror.slice(0, eq + 1), mirror.slice(eq + 1)];
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(place) ? mirror : `${prefix}${resolve(cwd, place)}`;
}
