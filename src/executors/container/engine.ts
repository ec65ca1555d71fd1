import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import { EngineUnavailableError } from "../../common/errors.js";

/** A container engine that answered: its API client and where it was found. */
export interface ContainerEngine {
  readonly docker: Docker;
  /** Where the engine was found: `DOCKER_HOST=...` or a socket path, for messages. */
  readonly where: string;
  /**
   * `Docker Engine` or `Podman Engine`, from the engine's version report: asked for when
   * wanted (once), and as long as the engine takes, so a slow answer never hides an engine.
   */
  product(): Promise<string>;
}

/** Options of {@link probeEngine}. */
export interface ProbeOptions {
  /** How long one place gets to answer a ping; nothing else is bounded by it. @default 3000 */
  readonly pingTimeoutMs?: number;
}

/** One place an engine may listen, and why it did not answer when it did not. */
interface Candidate {
  readonly label: string;
  readonly options: Docker.DockerOptions;
}

/**
 * The places to look for an engine, in order: `DOCKER_HOST` when it is set (then nothing
 * else: the user chose), else Docker's socket, Podman's rootful socket, and the rootless one
 * under `$XDG_RUNTIME_DIR`.
 */
export function engineCandidates(env: Readonly<Record<string, string | undefined>>): Candidate[] {
  const host = env.DOCKER_HOST;
  if (host) return [{ label: `DOCKER_HOST=${host}`, options: dockerHostOptions(host, env) }];
  const sockets = ["/var/run/docker.sock", "/run/podman/podman.sock"];
  if (env.XDG_RUNTIME_DIR) sockets.push(join(env.XDG_RUNTIME_DIR, "podman", "podman.sock"));
  return sockets.map((s) => ({ label: s, options: { socketPath: s } }));
}

/**
 * Client options for a `DOCKER_HOST` value: `unix://path`, `tcp://host:port` (TLS with the
 * certificates in `DOCKER_CERT_PATH` when `DOCKER_TLS_VERIFY` is set), or `ssh://user@host`.
 * Read here rather than by the client, so the environment given is the one used.
 */
export function dockerHostOptions(
  host: string,
  env: Readonly<Record<string, string | undefined>>,
): Docker.DockerOptions {
  if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    return { socketPath: host };
  }
  if (url.protocol === "ssh:") {
    return {
      protocol: "ssh",
      host: url.hostname,
      port: url.port || "22",
      ...(url.username ? { username: url.username } : {}),
    };
  }
  const tls = url.protocol === "https:" || (env.DOCKER_TLS_VERIFY ?? "") !== "";
  const certs = env.DOCKER_CERT_PATH;
  return {
    protocol: tls ? "https" : "http",
    host: url.hostname,
    port: url.port || (tls ? "2376" : "2375"),
    ...(tls && certs
      ? {
          ca: readFileSync(join(certs, "ca.pem")),
          cert: readFileSync(join(certs, "cert.pem")),
          key: readFileSync(join(certs, "key.pem")),
        }
      : {}),
  };
}

/** How long one place gets to answer a ping. */
const PING_TIMEOUT_MS = 3000;

let found: Promise<ContainerEngine | EngineUnavailableError> | undefined;

/**
 * The container engine this process uses, found once (and remembered) by pinging each
 * {@link engineCandidates} place in turn. Rejects with an {@link EngineUnavailableError}
 * that lists every place tried and why it failed, and says how to configure one.
 */
export async function findEngine(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ContainerEngine> {
  found ??= probe(env, {});
  const result = await found;
  if (result instanceof EngineUnavailableError) throw result;
  return result;
}

/**
 * Looks for an engine now, as {@link findEngine} does once, and without remembering it: the
 * first place that answers a ping within `pingTimeoutMs` is the engine. Only the ping
 * decides; a busy engine may take far longer for anything else.
 */
export async function probeEngine(
  env: Readonly<Record<string, string | undefined>>,
  options: ProbeOptions = {},
): Promise<ContainerEngine> {
  const result = await probe(env, options);
  if (result instanceof EngineUnavailableError) throw result;
  return result;
}

/** Forgets the engine found, so the next {@link findEngine} looks again (tests, a restarted engine). */
export function forgetEngine(): void {
  found = undefined;
}

async function probe(
  env: Readonly<Record<string, string | undefined>>,
  options: ProbeOptions,
): Promise<ContainerEngine | EngineUnavailableError> {
  const { default: DockerClient } = await import("dockerode");
  const tried: string[] = [];
  for (const candidate of engineCandidates(env)) {
    const socket = candidate.options?.socketPath;
    if (socket && !existsSync(socket)) {
      tried.push(`${candidate.label} (no such socket)`);
      continue;
    }
    const pinger = new DockerClient({
      ...candidate.options,
      timeout: options.pingTimeoutMs ?? PING_TIMEOUT_MS,
    });
    try {
      await pinger.ping();
      // The ping's timeout would also cut off slow answers and long operations (a busy
      // engine's version report, pulls, builds): the engine's client has none.
      const docker = new DockerClient(candidate.options);
      let product: Promise<string> | undefined;
      return {
        docker,
        where: candidate.label,
        product: () => {
          product ??= docker
            .version()
            .then(
              (v) => v.Components?.find((c) => /engine/i.test(c.Name))?.Name ?? "Docker Engine",
            );
          // A failed ask is asked again next time.
          product.catch(() => {
            product = undefined;
          });
          return product;
        },
      };
    } catch (err) {
      tried.push(`${candidate.label} (${(err as Error).message.split("\n")[0]})`);
    }
  }
  return new EngineUnavailableError(
    `no container engine answers; tried ${tried.join(", ")}. Start Docker, or Podman's API service ` +
      "(podman system service --time=0 unix:///run/podman/podman.sock &), or set DOCKER_HOST " +
      "to the engine's socket (unix:///path/to/socket or tcp://host:port)",
  );
}
