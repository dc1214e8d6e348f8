import { connect } from "node:net";

/**
 * Whether `host:port` answers a plaintext Redis command (`PING`, answered `+PONG`, or `-NOAUTH`
 * and the like: any RESP status or error line). Used only after a TLS connection to that port
 * failed, to tell "this port speaks plaintext Redis, not TLS" (a `rediss://` URL on a `redis://`
 * port, whose handshake otherwise just hangs until the connect timeout) from every other TLS
 * failure. False when the port does not answer so within `timeoutMs`.
 */
export function answersPlaintextRedis(
  host: string,
  port: number,
  timeoutMs = 1_000,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answers: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answers);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (reply: Buffer) => done(reply[0] === 0x2b || reply[0] === 0x2d)); // + or -
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}
