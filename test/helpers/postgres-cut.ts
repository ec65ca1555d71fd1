import { connect, createServer, type Socket } from "node:net";

/** ReadyForQuery ('Z', length 5): Postgres sends it once a statement's transaction is over. */
const READY_FOR_QUERY = Buffer.from([0x5a, 0, 0, 0, 5]);

/** A TCP proxy in front of Postgres that can lose one statement's answer; see {@link startPostgresCut}. */
export interface PostgresCut {
  /** The database's URL through the proxy. */
  readonly url: string;
  /**
   * The next statement whose text contains `text` runs and commits, and then its connection
   * is cut before its answer reaches the client: a write that is stored, but whose
   * acknowledgement is lost. `onCut` is called at that moment.
   */
  cutAfterCommit(text: string, onCut: () => void): void;
  close(): Promise<void>;
}

/** Starts a {@link PostgresCut} on a loopback port, in front of the database at `url`. */
export async function startPostgresCut(url: string): Promise<PostgresCut> {
  const target = new URL(url);
  let armed: { text: string; onCut: () => void } | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    let victim: { onCut: () => void; answer: Buffer } | undefined;
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (data) => {
      if (armed && !victim && data.includes(armed.text)) {
        victim = { onCut: armed.onCut, answer: Buffer.alloc(0) };
        armed = undefined;
      }
      upstream.write(data);
    });
    upstream.on("data", (data) => {
      if (!victim) {
        client.write(data);
        return;
      }
      // Held back until the statement's transaction is over (committed), then dropped.
      victim.answer = Buffer.concat([victim.answer, data]);
      if (victim.answer.includes(READY_FOR_QUERY)) {
        end();
        victim.onCut();
      }
    });
    for (const socket of [client, upstream]) {
      socket.on("error", end);
      socket.on("close", () => {
        sockets.delete(socket);
        end();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const proxied = new URL(url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(typeof address === "object" && address ? address.port : 0);
  return {
    url: proxied.toString(),
    cutAfterCommit(text, onCut) {
      armed = { text, onCut };
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
