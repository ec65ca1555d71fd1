import { InputError } from "../../common/errors.js";
import { type ParsedOptions, parseCreateOptions } from "./create-options.js";

/** A job container or a service, as the workflow asked for it, checked and normalised. */
export interface ContainerSpec {
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  /** Port mappings as written: `8080:80`, `80`, `127.0.0.1:8080:80/udp`. */
  readonly ports: readonly PortMapping[];
  readonly volumes: readonly VolumeMount[];
  readonly options: ParsedOptions;
  readonly credentials?: { readonly username: string; readonly password: string };
}

/** One `ports:` entry. `hostPort` undefined means any free port. */
export interface PortMapping {
  readonly containerPort: string;
  readonly protocol: "tcp" | "udp" | "sctp";
  readonly hostPort?: string;
  readonly hostIp?: string;
}

/** One `volumes:` entry: a host path (absolute) or a named volume, mounted at `target`. */
export interface VolumeMount {
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  /** True when `source` names a volume rather than a host path. */
  readonly named: boolean;
}

/**
 * Reads an evaluated `container:` or service value: an image name, or a mapping with
 * `image`, `env`, `ports`, `volumes`, `options` and `credentials`. Returns undefined for an
 * empty image, which GitHub treats as "no container" (a matrix may leave it empty). Throws
 * an {@link InputError} naming `where` for anything malformed.
 */
export function readContainerSpec(value: unknown, where: string): ContainerSpec | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string") return readContainerSpec({ image: value }, where);
  if (typeof value !== "object" || Array.isArray(value))
    throw new InputError(`${where}: must be an image name or a mapping`);
  const v = value as Record<string, unknown>;
  const image = v.image === undefined || v.image === null ? "" : String(v.image).trim();
  if (image === "") return undefined;
  const known = new Set(["image", "env", "ports", "volumes", "options", "credentials"]);
  const unknown = Object.keys(v).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new InputError(`${where}: unknown key '${unknown[0]}'`);
  const env: Record<string, string> = {};
  if (v.env !== undefined && v.env !== null) {
    if (typeof v.env !== "object" || Array.isArray(v.env))
      throw new InputError(`${where}.env: must be a mapping`);
    for (const [k, x] of Object.entries(v.env as Record<string, unknown>)) env[k] = text(x);
  }
  const list = (key: string): string[] => {
    const x = v[key];
    if (x === undefined || x === null) return [];
    if (!Array.isArray(x)) throw new InputError(`${where}.${key}: must be a list`);
    return x.map((e) => text(e));
  };
  const credentials = readCredentials(v.credentials, `${where}.credentials`);
  return {
    image,
    env,
    ports: list("ports").map((p) => parsePort(p, `${where}.ports`)),
    volumes: list("volumes").map((m) => parseVolume(m, `${where}.volumes`)),
    options: parseCreateOptions(v.options === undefined ? "" : text(v.options), `${where}.options`),
    ...(credentials ? { credentials } : {}),
  };
}

function readCredentials(
  value: unknown,
  where: string,
): { username: string; password: string } | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value))
    throw new InputError(`${where}: must be a mapping with username and password`);
  const c = value as Record<string, unknown>;
  const username = c.username === undefined ? "" : text(c.username);
  const password = c.password === undefined ? "" : text(c.password);
  // As on GitHub: credentials without both parts are ignored, not an error.
  return username && password ? { username, password } : undefined;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Parses `[ip:][hostPort:]containerPort[/protocol]`. */
export function parsePort(entry: string, where: string): PortMapping {
  const [spec = "", proto = "tcp", ...rest] = entry.trim().split("/");
  if (rest.length > 0 || !["tcp", "udp", "sctp"].includes(proto))
    throw new InputError(`${where}: '${entry}' is not a port mapping`);
  const parts = spec.split(":");
  const containerPort = parts.pop() ?? "";
  const hostPort = parts.pop();
  const hostIp = parts.join(":").replace(/^\[|\]$/g, "");
  const isPort = (p: string) => /^\d{1,5}$/.test(p) && Number(p) > 0 && Number(p) < 65536;
  if (!isPort(containerPort) || (hostPort !== undefined && hostPort !== "" && !isPort(hostPort)))
    throw new InputError(`${where}: '${entry}' is not a port mapping`);
  return {
    containerPort,
    protocol: proto as PortMapping["protocol"],
    ...(hostPort ? { hostPort } : {}),
    ...(hostIp ? { hostIp } : {}),
  };
}

/** Parses `source:target[:ro|rw]`; a bare `target` is an anonymous volume. */
export function parseVolume(entry: string, where: string): VolumeMount {
  const parts = entry.trim().split(":");
  let mode = "rw";
  if (parts.length === 3 || (parts.length === 2 && /^(ro|rw)$/.test(parts[1] ?? ""))) {
    mode = parts.pop() ?? "rw";
  }
  if (parts.length === 1) {
    const target = parts[0] ?? "";
    if (!target.startsWith("/")) throw new InputError(`${where}: '${entry}' is not a volume`);
    return { source: "", target, readOnly: mode === "ro", named: false };
  }
  const [source = "", target = ""] = parts;
  if (parts.length !== 2 || !target.startsWith("/") || source === "" || !/^(ro|rw)$/.test(mode))
    throw new InputError(`${where}: '${entry}' is not a volume (source:target[:ro])`);
  return { source, target, readOnly: mode === "ro", named: !source.startsWith("/") };
}
