import { hostname } from "node:os";

/** Label on everything Trunkline creates in an engine: the job's key. */
export const TRUNKLINE_LABEL = "dev.trunkline.job";

/** Label naming the process that created a resource: `<hostname>:<pid>`. */
export const OWNER_LABEL = "dev.trunkline.owner";

/** The labels of everything a job creates: its key and this process as the owner. */
export function jobLabels(job: string): Record<string, string> {
  return { [TRUNKLINE_LABEL]: job, [OWNER_LABEL]: `${hostname()}:${process.pid}` };
}
