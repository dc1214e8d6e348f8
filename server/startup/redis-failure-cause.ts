import { isRefusedSelect } from "../store/redis/database-guard.js";
import { answersPlaintextRedis } from "./plaintext-redis-probe.js";
import { databaseCount } from "./redis-database-count.js";

/** Node's codes for a TLS peer certificate that does not verify. */
const certificateCode = /CERT|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH/;

/** Node's codes for a TLS handshake that failed on the protocol (e.g. a plaintext peer). */
const tlsProtocolCode = /^(ERR_SSL_|ERR_TLS_|EPROTO$)/;

/**
 * Why the first connection to the Redis at `url` failed, in words an operator can act on, when
 * waiting would not fix it: connection refused, host not found, credentials refused or missing
 * (WRONGPASS, NOAUTH), a permission missing (NOPERM), the URL's database refused, a TLS
 * certificate that does not verify, or `rediss://` to a port that speaks plaintext Redis.
 * Undefined for a failure that may pass by itself (a connect timeout, a reset connection, a DNS
 * server that did not answer, a Redis still loading), which start-up waits out.
 *
 * A refused connection counts as final although Redis may be about to start: failing the start
 * at once, with the cause, beats a silent wait, and a supervisor restarts the process anyway.
 *
 * Asks the network only to explain an error already seen: the number of databases when SELECT was
 * refused, and whether the port speaks plaintext Redis when a TLS connection failed.
 */
export async function redisFailureCause(error: unknown, url: string): Promise<string | undefined> {
  if (!(error instanceof Error)) return undefined;
  const target = new URL(url);
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = target.port === "" ? 6379 : Number(target.port);
  const hostPort = `${target.hostname}:${port}`;
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const reply = error.message.replace(/^Ready check failed: /, "");

  if (/\bWRONGPASS\b/.test(reply)) {
    return `Redis refused the user name or password (${reply}); fix them in REDIS_URL`;
  }
  if (/\bNOAUTH\b/.test(reply)) {
    return `Redis requires a password (${reply}); give it in REDIS_URL, e.g. redis://:<password>@${hostPort} or redis://<user>:<password>@${hostPort}`;
  }
  if (/\bNOPERM\b/.test(reply)) {
    return `the Redis user may not run a command tollgate needs (${reply}); grant it in the user's ACL`;
  }
  if (isRefusedSelect(error)) return databaseRefused(url, target.pathname.slice(1), reply);
  if (code === "ECONNREFUSED") {
    return `connection refused (ECONNREFUSED): nothing listens on ${hostPort}; start Redis there or fix the host and port`;
  }
  if (code === "ENOTFOUND") {
    return `host ${target.hostname} not found (ENOTFOUND); fix the host name`;
  }
  if (target.protocol !== "rediss:") return undefined;
  if (certificateCode.test(code)) {
    return `TLS: the server's certificate does not verify (${code}: ${error.message}); for a private CA, set NODE_EXTRA_CA_CERTS to its PEM file`;
  }
  const handshake = tlsProtocolCode.test(code) || /\b(TLS|SSL)\b/.test(error.message);
  if (!handshake && code !== "ETIMEDOUT" && code !== "ECONNRESET") return undefined;
  if (await answersPlaintextRedis(host, port)) {
    return `TLS handshake failed: ${hostPort} speaks plaintext Redis, not TLS; use redis:// for it, or the server's TLS port with rediss://`;
  }
  // A timeout or a reset may be a slow or restarting server: waited out like any other.
  return handshake ? `TLS handshake failed (${code || "no code"}: ${error.message})` : undefined;
}

/** SELECT refused: the database does not exist (then say which do), or SELECT is not allowed. */
async function databaseRefused(url: string, db: string, reply: string): Promise<string> {
  if (!/out of range/i.test(reply)) return `Redis refused database ${db} (${reply})`;
  const count = await databaseCount(url);
  const which =
    count === undefined
      ? `this Redis has fewer databases (${reply})`
      : `this Redis has ${count} databases (0 to ${count - 1})`;
  return `database ${db} does not exist: ${which}; name an existing one in REDIS_URL (redis://host:port/<db>)`;
}
