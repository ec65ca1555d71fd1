import { BlockList, connect, createServer, type Server, type Socket } from "node:net";
import type Docker from "dockerode";

/**
 * Services of this machine that listen on its loopback (the runtime services of a local run,
 * a server on 127.0.0.1), made reachable from the containers of one job network: each gets a
 * TCP forward on the network's gateway address, the host as the containers see it. A forward
 * accepts connections from the network's subnet only and carries bytes unchanged, so a
 * service sees the request as its client sent it (`Host` names the forward, and the URLs it
 * answers with lead back through it). Origins that are not on loopback are reached directly.
 */
export class HostForwards {
  private readonly servers: Server[] = [];
  private readonly map = new Map<string, string>();

  private constructor() {}

  /**
   * Opens a forward for each loopback origin of `origins` on `network`'s gateway. Resolves to
   * forwards that rewrite nothing when the network names no IPv4 gateway and subnet.
   */
  static async open(
    docker: Docker,
    network: string,
    origins: readonly string[],
  ): Promise<HostForwards> {
    const loopback = [...new Set(origins.map(originOf).filter(isLoopbackOrigin))];
    const forwards = new HostForwards();
    if (loopback.length === 0) return forwards;
    const info = (await docker.getNetwork(network).inspect()) as {
      IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] };
    };
    const config = (info.IPAM?.Config ?? []).find(
      (c) => c.Subnet && c.Gateway && !c.Subnet.includes(":"),
    );
    if (!config?.Subnet || !config.Gateway) return forwards;
    const [base, bits] = config.Subnet.split("/");
    const allowed = new BlockList();
    allowed.addSubnet(base as string, Number(bits), "ipv4");
    try {
      for (const origin of loopback) {
        const target = new URL(origin);
        const port = await forward(
          target.hostname.replace(/^\[|\]$/g, ""),
          Number(target.port || (target.protocol === "https:" ? 443 : 80)),
          allowed,
          (s) => forwards.servers.push(s),
        );
        forwards.map.set(origin, `${target.protocol}//${config.Gateway}:${port}`);
      }
    } catch (err) {
      await forwards.close();
      throw err;
    }
    return forwards;
  }

  /** The origin a container reaches `origin` at (itself when it needs no forward). */
  reach(origin: string): string {
    return this.map.get(origin) ?? origin;
  }

  /**
   * `env` as a container's processes need it: every occurrence of a forwarded origin in a
   * value (`ACTIONS_RESULTS_URL`, `GITHUB_API_URL`, ...) names its forward instead.
   */
  rewrite(env: Readonly<Record<string, string>>): Record<string, string> {
    return rewriteOrigins(env, this.map);
  }

  /** Stops every forward and ends the connections they carry. */
  async close(): Promise<void> {
    await Promise.all(
      this.servers.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            for (const c of connectionsOf(s)) c.destroy();
          }),
      ),
    );
  }
}

/**
 * `env` with every whole occurrence of an origin of `map` (not one that merely starts the
 * same: `http://127.0.0.1:80` in `http://127.0.0.1:8080`) replaced by what it maps to. Pure.
 */
export function rewriteOrigins(
  env: Readonly<Record<string, string>>,
  map: ReadonlyMap<string, string>,
): Record<string, string> {
  const out: Record<string, string> = { ...env };
  if (map.size === 0) return out;
  const pattern = new RegExp(
    `(${[...map.keys()].map(escapeRegExp).join("|")})(?![0-9A-Za-z.:-])`,
    "g",
  );
  for (const [name, value] of Object.entries(env))
    out[name] = value.replace(pattern, (origin) => map.get(origin) ?? origin);
  return out;
}

/** Open sockets of each forward, to end them with it. */
const live = new WeakMap<Server, Set<Socket>>();

function connectionsOf(server: Server): Set<Socket> {
  return live.get(server) ?? new Set();
}

/**
 * Listens on every address (the gateway's interface may not exist until a container joins the
 * network) and forwards connections from `allowed` to `host:port`; resolves to its port.
 */
async function forward(
  host: string,
  port: number,
  allowed: BlockList,
  onServer: (server: Server) => void,
): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const from = client.remoteAddress?.replace(/^::ffff:/, "") ?? "";
    if (!from.includes(".") || !allowed.check(from, "ipv4")) {
      client.destroy();
      return;
    }
    const upstream = connect({ host, port });
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  live.set(server, sockets);
  onServer(server);
  // Connections do not keep a process alive that is otherwise done.
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "0.0.0.0", () => {
      server.off("error", reject);
      // Accepting may fail later (out of file descriptors): that connection is lost, not the process.
      server.on("error", () => undefined);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
}

/** `scheme://host[:port]` of a URL, or the text itself when it is not one. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/** Whether an origin's host is this machine's loopback, which no container reaches. */
export function isLoopbackOrigin(origin: string): boolean {
  let host: string;
  try {
    host = new URL(origin).hostname;
  } catch {
    return false;
  }
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
