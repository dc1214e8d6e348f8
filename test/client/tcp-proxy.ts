import { connect, createServer, type Socket } from "node:net";

/** A loopback TCP proxy a test can cut, as a network drop would. */
export interface TcpProxy {
  /** host:port to connect to instead of the target. */
  address: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Destroys every open connection (both sides); the proxy keeps accepting new ones. */
  cut(): void;
  close(): Promise<void>;
}

/** Forwards 127.0.0.1:<free port> to `targetPort`, byte for byte. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let connections = 0;
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    // A cut connection errors on the other side (ECONNRESET, EPIPE): expected, not a failure.
    socket.on("error", () => socket.destroy());
  };
  const server = createServer((client) => {
    connections += 1;
    const upstream = connect(targetPort, "127.0.0.1");
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("proxy has no port");
  const cut = () => {
    for (const socket of open) socket.destroy();
  };
  return {
    address: `127.0.0.1:${address.port}`,
    get connections() {
      return connections;
    },
    cut,
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
