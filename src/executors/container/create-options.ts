import { InputError } from "../../common/errors.js";

/** A health check, in milliseconds, with Docker's defaults filled in. */
export interface HealthCheck {
  /** Run as `/bin/sh -c <command>` inside the container (Docker's CMD-SHELL). */
  readonly command: readonly string[];
  /** @default 30 s, Docker's */
  readonly intervalMs: number;
  /** @default 30 s, Docker's */
  readonly timeoutMs: number;
  /** Consecutive failures that make the container unhealthy. @default 3, Docker's */
  readonly retries: number;
  /** Failures before this much time has passed do not count. @default 0 */
  readonly startPeriodMs: number;
}

/** What `options:` may set on a container. Anything else in `options:` is refused by name. */
export interface ParsedOptions {
  readonly health?: Partial<HealthCheck> & { readonly command?: readonly string[] };
  /** `--no-healthcheck`: ignore the image's HEALTHCHECK. */
  readonly noHealthcheck: boolean;
  readonly user?: string;
  readonly hostname?: string;
  readonly workdir?: string;
  readonly entrypoint?: string;
  readonly privileged: boolean;
  readonly init: boolean;
  readonly nanoCpus?: number;
  readonly memoryBytes?: number;
  readonly shmSizeBytes?: number;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly networkAliases: readonly string[];
  readonly extraHosts: readonly string[];
  readonly capAdd: readonly string[];
  readonly capDrop: readonly string[];
  readonly securityOpt: readonly string[];
  readonly tmpfs: Readonly<Record<string, string>>;
}

/**
 * Splits `options:` or a Docker action's `args` into words the way they reach `docker` on
 * GitHub: the runner appends them to a `docker create`/`docker run` command line, which .NET
 * splits with the C runtime's rules. Words are separated by spaces and tabs; double quotes
 * group (`""` inside quotes is a literal quote); backslashes are literal except before a
 * double quote (2n backslashes and a quote: n backslashes, the quote groups; 2n+1: n
 * backslashes and a literal quote). Single quotes are ordinary characters, as on GitHub.
 * Nothing is ever run through a shell.
 */
export function splitArguments(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  const blank = (c: string | undefined) => c === " " || c === "\t";
  while (i < line.length) {
    while (blank(line[i])) i++;
    if (i >= line.length) break;
    let word = "";
    let quoted = false;
    while (i < line.length) {
      let slashes = 0;
      while (line[i] === "\\") {
        slashes++;
        i++;
      }
      if (slashes > 0) {
        if (line[i] !== '"') word += "\\".repeat(slashes);
        else {
          word += "\\".repeat(Math.floor(slashes / 2));
          if (slashes % 2 === 1) {
            word += '"';
            i++;
          }
        }
        continue;
      }
      const c = line[i] as string;
      if (c === '"') {
        if (quoted && line[i + 1] === '"') {
          word += '"';
          i++;
        } else quoted = !quoted;
        i++;
        continue;
      }
      if (blank(c) && !quoted) break;
      word += c;
      i++;
    }
    words.push(word);
  }
  return words;
}

/** Parses a Go duration (`10s`, `1m30s`, `500ms`, `2h`) into milliseconds. */
export function parseDuration(value: string, where: string): number {
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1e3,
    m: 6e4,
    h: 3.6e6,
  };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (const m of value.matchAll(re)) {
    total += Number(m[1]) * (units[m[2] as string] as number);
    end = (m.index ?? 0) + m[0].length;
  }
  if (value === "0") return 0;
  if (end !== value.length || value.length === 0)
    throw new InputError(`${where}: '${value}' is not a duration (like 10s, 1m30s, 500ms)`);
  return total;
}

/** Parses `512m`, `1g`, `1048576` into bytes. */
export function parseBytes(value: string, where: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)b?$/i.exec(value.trim());
  if (!m) throw new InputError(`${where}: '${value}' is not a size (like 512m or 1g)`);
  const scale = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[
    (m[2] ?? "").toLowerCase()
  ] as number;
  return Math.round(Number(m[1]) * scale);
}

const FLAGS: Readonly<Record<string, { takes: boolean; alias?: string }>> = {
  "--health-cmd": { takes: true },
  "--health-interval": { takes: true },
  "--health-timeout": { takes: true },
  "--health-retries": { takes: true },
  "--health-start-period": { takes: true },
  "--no-healthcheck": { takes: false },
  "--user": { takes: true },
  "-u": { takes: true, alias: "--user" },
  "--hostname": { takes: true },
  "-h": { takes: true, alias: "--hostname" },
  "--workdir": { takes: true },
  "-w": { takes: true, alias: "--workdir" },
  "--entrypoint": { takes: true },
  "--privileged": { takes: false },
  "--init": { takes: false },
  "--cpus": { takes: true },
  "--memory": { takes: true },
  "-m": { takes: true, alias: "--memory" },
  "--shm-size": { takes: true },
  "--env": { takes: true },
  "-e": { takes: true, alias: "--env" },
  "--label": { takes: true },
  "-l": { takes: true, alias: "--label" },
  "--network-alias": { takes: true },
  "--add-host": { takes: true },
  "--cap-add": { takes: true },
  "--cap-drop": { takes: true },
  "--security-opt": { takes: true },
  "--tmpfs": { takes: true },
};

/**
 * Parses a container's `options:` (flags of `docker create`). The supported flags are the
 * ones workflows use for services and job containers: health checks, user, hostname,
 * workdir, entrypoint, privileges, resources, env, labels, aliases, hosts, capabilities,
 * tmpfs. `--network` is refused as on GitHub (every container of a job shares the job's
 * network); any other flag is refused by name rather than silently ignored. Words are split
 * with {@link splitArguments}, as GitHub's runner splits them.
 */
export function parseCreateOptions(line: string, where: string): ParsedOptions {
  const words = splitArguments(line);
  const health: {
    command?: string[];
    intervalMs?: number;
    timeoutMs?: number;
    retries?: number;
    startPeriodMs?: number;
  } = {};
  const out = {
    noHealthcheck: false,
    privileged: false,
    init: false,
    env: {} as Record<string, string>,
    labels: {} as Record<string, string>,
    networkAliases: [] as string[],
    extraHosts: [] as string[],
    capAdd: [] as string[],
    capDrop: [] as string[],
    securityOpt: [] as string[],
    tmpfs: {} as Record<string, string>,
  } as ParsedOptions & Record<string, unknown>;
  const set = out as Record<string, unknown>;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    const eq = word.startsWith("--") ? word.indexOf("=") : -1;
    const given = eq === -1 ? word : word.slice(0, eq);
    if (given === "--network" || given === "--net")
      throw new InputError(
        `${where}: '${given}' is not supported: every container of a job joins the job's network`,
      );
    const flag = FLAGS[given];
    if (!flag)
      throw new InputError(
        `${where}: '${given}' is not supported (supported: ${Object.keys(FLAGS).join(", ")})`,
      );
    const name = flag.alias ?? given;
    let value = "";
    if (flag.takes) {
      if (eq !== -1) value = word.slice(eq + 1);
      else if (i + 1 < words.length) value = words[++i] as string;
      else throw new InputError(`${where}: '${given}' needs a value`);
    }
    const at = `${where} ${name}`;
    switch (name) {
      case "--health-cmd":
        health.command = ["CMD-SHELL", value];
        break;
      case "--health-interval":
        health.intervalMs = parseDuration(value, at);
        break;
      case "--health-timeout":
        health.timeoutMs = parseDuration(value, at);
        break;
      case "--health-start-period":
        health.startPeriodMs = parseDuration(value, at);
        break;
      case "--health-retries":
        if (!/^\d+$/.test(value)) throw new InputError(`${at}: '${value}' is not a number`);
        health.retries = Number(value);
        break;
      case "--no-healthcheck":
        set.noHealthcheck = true;
        break;
      case "--privileged":
      case "--init":
        set[name.slice(2)] = true;
        break;
      case "--user":
      case "--hostname":
      case "--workdir":
      case "--entrypoint":
        set[name.slice(2)] = value;
        break;
      case "--cpus":
        if (!/^\d+(\.\d+)?$/.test(value)) throw new InputError(`${at}: '${value}' is not a number`);
        set.nanoCpus = Math.round(Number(value) * 1e9);
        break;
      case "--memory":
        set.memoryBytes = parseBytes(value, at);
        break;
      case "--shm-size":
        set.shmSizeBytes = parseBytes(value, at);
        break;
      case "--env":
      case "--label": {
        const k = value.indexOf("=");
        const target = (name === "--env" ? out.env : out.labels) as Record<string, string>;
        if (k === -1) {
          if (name === "--env") throw new InputError(`${at}: '${value}' is not NAME=value`);
          target[value] = "";
        } else target[value.slice(0, k)] = value.slice(k + 1);
        break;
      }
      case "--tmpfs": {
        const colon = value.indexOf(":");
        (out.tmpfs as Record<string, string>)[colon === -1 ? value : value.slice(0, colon)] =
          colon === -1 ? "" : value.slice(colon + 1);
        break;
      }
      default: {
        const key = {
          "--network-alias": "networkAliases",
          "--add-host": "extraHosts",
          "--cap-add": "capAdd",
          "--cap-drop": "capDrop",
          "--security-opt": "securityOpt",
        }[name] as string;
        (set[key] as string[]).push(value);
      }
    }
  }
  if (Object.keys(health).length > 0) set.health = health;
  return out;
}

/** Docker's health check defaults applied to what `options:` and the image said. */
export function healthCheckOf(
  options: ParsedOptions,
  image:
    | {
        Test?: string[];
        Interval?: number;
        Timeout?: number;
        Retries?: number;
        StartPeriod?: number;
      }
    | undefined,
): HealthCheck | undefined {
  if (options.noHealthcheck) return undefined;
  const ns = (v: number | undefined) => (v ? v / 1e6 : undefined);
  const fromImage =
    image?.Test && image.Test.length > 0 && image.Test[0] !== "NONE" ? image : undefined;
  const command = options.health?.command ?? fromImage?.Test;
  if (!command) return undefined;
  return {
    command:
      command[0] === "CMD-SHELL" ? ["/bin/sh", "-c", command.slice(1).join(" ")] : command.slice(1),
    intervalMs: options.health?.intervalMs ?? ns(fromImage?.Interval) ?? 30_000,
    timeoutMs: options.health?.timeoutMs ?? ns(fromImage?.Timeout) ?? 30_000,
    retries: options.health?.retries ?? fromImage?.Retries ?? 3,
    startPeriodMs: options.health?.startPeriodMs ?? ns(fromImage?.StartPeriod) ?? 0,
  };
}
