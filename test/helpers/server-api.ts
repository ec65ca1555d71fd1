import type { ServerProcess } from "./server-process.js";

/** Calls a server process's API with its admin token: JSON in and out, undefined for 204. */
export function serverApi(server: () => ServerProcess) {
  return async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const s = server();
    const response = await fetch(`${s.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${s.token}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (response.status >= 500) throw new Error(`${method} ${path}: ${response.status}`);
    return response.status === 204 ? undefined : response.json();
  };
}

/**
 * Polls `probe` every 100 ms until it returns something (a probe that throws counts as not
 * yet: the server may be restarting), or fails after `tries` with what it waited for.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  tries = 900,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
