import { hostname } from "node:os";
import type Docker from "dockerode";
import { OWNER_LABEL, TRUNKLINE_LABEL } from "./labels.js";

/** Whether the owner `<hostname>:<pid>` is a process of this machine that no longer exists. */
export function ownerIsGone(owner: string): boolean {
  const colon = owner.lastIndexOf(":");
  const host = owner.slice(0, colon);
  const pid = Number(owner.slice(colon + 1));
  if (colon === -1 || host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * Removes what jobs of a Trunkline process that died without cleaning up (killed, crashed,
 * the machine rebooted) left in the engine: containers, then networks and volumes, whose
 * owner is a process of this machine that no longer exists. Resources of live processes, of
 * other machines sharing the engine, and anything without the labels are never touched.
 * Resolves to what was removed.
 */
export async function removeStaleResources(docker: Docker): Promise<string[]> {
  const filters = JSON.stringify({ label: [TRUNKLINE_LABEL, OWNER_LABEL] });
  const stale = (labels: Record<string, string> | undefined | null) =>
    ownerIsGone(labels?.[OWNER_LABEL] ?? "");
  const removed: string[] = [];
  for (const c of await docker.listContainers({ all: true, filters })) {
    if (!stale(c.Labels)) continue;
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .then(() => removed.push(`container ${c.Names?.[0] ?? c.Id}`))
      .catch(() => undefined);
  }
  for (const n of await docker.listNetworks({ filters })) {
    if (!stale(n.Labels)) continue;
    await docker
      .getNetwork(n.Id)
      .remove()
      .then(() => removed.push(`network ${n.Name}`))
      .catch(() => undefined);
  }
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) {
    if (!stale(v.Labels)) continue;
    await docker
      .getVolume(v.Name)
      .remove()
      .then(() => removed.push(`volume ${v.Name}`))
      .catch(() => undefined);
  }
  return removed;
}
