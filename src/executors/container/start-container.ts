import type Docker from "dockerode";
import { ContainerError } from "../../common/errors.js";
import type { ContainerSpec } from "./container-spec.js";
import { jobLabels } from "./labels.js";

/** One bind mount of a host path. */
export interface BindMount {
  readonly host: string;
  readonly container: string;
  readonly readOnly?: boolean;
}

/** What to create: the workflow's spec plus what the executor adds. */
export interface StartRequest {
  readonly spec: ContainerSpec;
  readonly name: string;
  readonly network: string;
  /** Names other containers on the network reach it by. */
  readonly aliases: readonly string[];
  /** The job's key, stored in its labels ({@link jobLabels}). */
  readonly job: string;
  readonly binds?: readonly BindMount[];
  /** Replaces the image's entrypoint and command (a job container's `tail -f /dev/null`). */
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly workdir?: string;
  /** Extra environment, under the spec's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Named volumes that did not exist yet are created (with the job's labels) and reported here, to be removed later. */
  readonly onVolumeCreated?: (name: string) => void;
  /** Told the container's id as soon as it exists, before it starts, so a failed start leaves nothing behind. */
  readonly onCreated?: (id: string) => void;
  /** What the container is, for messages: `the job container`, `the redis service container`. */
  readonly what: string;
}

/**
 * Creates and starts one container on the job's network: the spec's env, ports (published on
 * the host, on loopback unless the mapping names an address), volumes, and `options:`.
 * Resolves to the started container's inspection. A named volume that does not exist yet
 * is created first and reported to `onVolumeCreated`, so the job can remove what it made.
 */
export async function startContainer(
  docker: Docker,
  request: StartRequest,
): Promise<Docker.ContainerInspectInfo> {
  const { spec } = request;
  const o = spec.options;
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of spec.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    const list = bindings[key] ?? [];
    list.push({ HostIp: p.hostIp ?? "127.0.0.1", HostPort: p.hostPort ?? "" });
    bindings[key] = list;
  }
  const binds = (request.binds ?? []).map(
    (b) => `${b.host}:${b.container}${b.readOnly ? ":ro" : ""}`,
  );
  const anonymous: Record<string, object> = {};
  for (const v of spec.volumes) {
    if (v.source === "") {
      anonymous[v.target] = {};
      continue;
    }
    if (v.named) {
      const exists = await docker
        .getVolume(v.source)
        .inspect()
        .then(
          () => true,
          () => false,
        );
      if (!exists) {
        await docker.createVolume({ Name: v.source, Labels: jobLabels(request.job) });
        request.onVolumeCreated?.(v.source);
      }
    }
    binds.push(`${v.source}:${v.target}${v.readOnly ? ":ro" : ""}`);
  }
  // As GitHub's runner does for every container it creates: the CI watermarks, under what
  // the workflow sets.
  const env = { GITHUB_ACTIONS: "true", CI: "true", ...(request.env ?? {}), ...o.env, ...spec.env };
  const entrypoint =
    request.entrypoint ?? (o.entrypoint !== undefined ? [o.entrypoint] : undefined);
  const container = await docker.createContainer({
    name: request.name,
    Image: spec.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...o.labels, ...jobLabels(request.job) },
    ExposedPorts: exposed,
    Volumes: anonymous,
    ...(entrypoint ? { Entrypoint: [...entrypoint] } : {}),
    ...(request.cmd ? { Cmd: [...request.cmd] } : {}),
    ...(o.workdir || request.workdir ? { WorkingDir: o.workdir ?? request.workdir } : {}),
    ...(o.user ? { User: o.user } : {}),
    ...(o.hostname ? { Hostname: o.hostname } : {}),
    HostConfig: {
      NetworkMode: request.network,
      Binds: binds,
      PortBindings: bindings,
      Privileged: o.privileged,
      Init: o.init,
      ExtraHosts: [...o.extraHosts],
      CapAdd: [...o.capAdd],
      CapDrop: [...o.capDrop],
      SecurityOpt: [...o.securityOpt],
      Tmpfs: { ...o.tmpfs },
      ...(o.nanoCpus ? { NanoCpus: o.nanoCpus } : {}),
      ...(o.memoryBytes ? { Memory: o.memoryBytes } : {}),
      ...(o.shmSizeBytes ? { ShmSize: o.shmSizeBytes } : {}),
    },
    NetworkingConfig: {
      EndpointsConfig: {
        [request.network]: { Aliases: [...request.aliases, ...o.networkAliases] },
      },
    },
  });
  request.onCreated?.(container.id);
  try {
    await container.start();
  } catch (err) {
    throw new ContainerError(
      `cannot start ${request.what} (${spec.image}): ${engineMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  return container.inspect();
}

/** The engine's own words for a failed request, without the client's HTTP preamble. */
export function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return (e.json?.message ?? e.message ?? String(err)).trim();
}

/** A container's last `lines` lines of output (stdout and stderr, in order), for a failure message. */
export async function lastLogs(docker: Docker, id: string, lines = 50): Promise<string> {
  try {
    const raw = (await docker
      .getContainer(id)
      .logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    return demuxBuffer(raw).trimEnd();
  } catch (err) {
    return `(no logs: ${(err as Error).message})`;
  }
}

/** Undoes the engine's 8-byte-header framing of a non-TTY container's output, if it is framed. */
export function demuxBuffer(raw: Buffer): string {
  const chunks: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length) {
    const kind = raw[at];
    if ((kind !== 0 && kind !== 1 && kind !== 2) || raw[at + 1] !== 0) return raw.toString("utf8");
    const size = raw.readUInt32BE(at + 4);
    chunks.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return at === raw.length ? Buffer.concat(chunks).toString("utf8") : raw.toString("utf8");
}
