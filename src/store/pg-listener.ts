import pg from "pg";

/** A `LISTEN` connection; see {@link listen}. */
export interface Listener {
  close(): Promise<void>;
}

/**
 * Listens on Postgres channels with a connection of its own and calls `onMessage` with each
 * notification's channel and payload. A lost connection (a database restart, a network cut)
 * is made again after `retryMs`; what was notified meanwhile is lost, so a caller that must
 * not miss anything also looks in the store now and then.
 */
export function listen(
  url: string,
  channels: readonly string[],
  onMessage: (channel: string, payload: string) => void,
  retryMs = 1_000,
): Listener {
  let closed = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (closed) return;
    const mine = new pg.Client({ connectionString: url });
    let lost = false;
    const again = () => {
      if (lost) return;
      lost = true;
      if (client === mine) client = undefined;
      void mine.end().catch(() => undefined);
      if (!closed) {
        timer = setTimeout(() => void connect(), retryMs);
        timer.unref();
      }
    };
    mine.on("notification", (message) => onMessage(message.channel, message.payload ?? ""));
    mine.on("error", again);
    mine.on("end", again);
    try {
      await mine.connect();
      await mine.query(channels.map((c) => `LISTEN ${c};`).join(" "));
    } catch {
      again();
      return;
    }
    if (closed) {
      lost = true;
      await mine.end().catch(() => undefined);
      return;
    }
    client = mine;
  };
  const ready = connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await ready;
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
}
