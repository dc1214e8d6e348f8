import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Exited, exitOf } from "../support/main-process.js";
import { freePort, type OwnRedis, startOwnRedis } from "../support/redis-server.js";

/**
 * How long a start that already knows its Redis cannot work may take, from the process's first
 * log line to its exit. Before, every such start waited out the 10 s start-up wait (13-14 s in
 * all); the causes here are known within milliseconds (a TLS handshake to a plaintext port hangs
 * until the 2 s connect timeout), so this only leaves room for a loaded machine.
 */
const quickExitMs = 6_000;

/** The process's stderr lines, without npm's own notices (npx may add them). */
function stderrLines(exited: Exited): string[] {
  return exited.stderr.split("\n").filter((line) => line !== "" && !line.startsWith("npm "));
}

/** Asserts a start that failed at once with exactly `line` on stderr, and exit code 1. */
function expectQuickFailure(exited: Exited, line: string): void {
  expect(stderrLines(exited)).toEqual([`tollgate failed to start: ${line}`]);
  expect(exited.code).toBe(1);
  expect(exited.afterFirstOutputMs).toBeLessThan(quickExitMs);
}

describe("npm start when Redis cannot work: one line with the cause, exit 1 at once", () => {
  const password = "start-failure-pw-0123";
  let own: OwnRedis;
  beforeAll(async () => {
    own = await startOwnRedis({ password });
  });
  afterAll(() => own?.dispose());

  it("connection refused (nothing listening)", async () => {
    const port = await freePort();
    expectQuickFailure(
      await exitOf({ REDIS_URL: `redis://127.0.0.1:${port}`, TOLLGATE_ADDRESS: "127.0.0.1:0" }),
      `REDIS_URL redis://127.0.0.1:${port}: connection refused (ECONNREFUSED): nothing listens on 127.0.0.1:${port}; start Redis there or fix the host and port`,
    );
  });

  it("connection refused by a Redis Cluster seed (REDIS_CLUSTER=true)", async () => {
    const port = await freePort();
    expectQuickFailure(
      await exitOf({
        REDIS_URL: `redis://127.0.0.1:${port}`,
        REDIS_CLUSTER: "true",
        TOLLGATE_ADDRESS: "127.0.0.1:0",
      }),
      `REDIS_URL redis://127.0.0.1:${port}: connection refused (ECONNREFUSED): nothing listens on 127.0.0.1:${port}; start Redis there or fix the host and port`,
    );
  });

  it("a wrong password (WRONGPASS), never printing it", async () => {
    const exited = await exitOf({
      REDIS_URL: `redis://:not-the-password@127.0.0.1:${own.port}`,
      TOLLGATE_ADDRESS: "127.0.0.1:0",
    });
    expectQuickFailure(
      exited,
      `REDIS_URL redis://:***@127.0.0.1:${own.port}: Redis refused the user name or password (WRONGPASS invalid username-password pair or user is disabled.); fix them in REDIS_URL`,
    );
    expect(exited.stdout + exited.stderr).not.toContain("not-the-password");
  });

  it("no password where one is required (NOAUTH)", async () => {
    expectQuickFailure(
      await exitOf({ REDIS_URL: own.url, TOLLGATE_ADDRESS: "127.0.0.1:0" }),
      `REDIS_URL ${own.url}: Redis requires a password (NOAUTH Authentication required.); give it in REDIS_URL, e.g. redis://:<password>@127.0.0.1:${own.port} or redis://<user>:<password>@127.0.0.1:${own.port}`,
    );
  });

  it("an unknown host (ENOTFOUND)", async () => {
    expectQuickFailure(
      await exitOf({
        REDIS_URL: "redis://no-such-host.invalid:6379",
        TOLLGATE_ADDRESS: "127.0.0.1:0",
      }),
      "REDIS_URL redis://no-such-host.invalid:6379: host no-such-host.invalid not found (ENOTFOUND); fix the host name",
    );
  });

  it("rediss:// to a plaintext Redis port (TLS)", async () => {
    expectQuickFailure(
      await exitOf({
        REDIS_URL: `rediss://:${password}@127.0.0.1:${own.port}`,
        TOLLGATE_ADDRESS: "127.0.0.1:0",
      }),
      `REDIS_URL rediss://:***@127.0.0.1:${own.port}: TLS handshake failed: 127.0.0.1:${own.port} speaks plaintext Redis, not TLS; use redis:// for it, or the server's TLS port with rediss://`,
    );
  });
});

describe("npm start when Redis's TLS certificate does not verify", () => {
  let own: OwnRedis | undefined;
  let certs: string | undefined;
  afterAll(async () => {
    await own?.dispose();
    if (certs !== undefined) rmSync(certs, { recursive: true, force: true });
  });

  it("says so at once, with what to do about a private CA", async () => {
    certs = mkdtempSync(join(tmpdir(), "tollgate-tls-"));
    try {
      execFileSync(
        "openssl",
        [
          ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
          ...["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"],
          ...["-keyout", join(certs, "key.pem"), "-out", join(certs, "cert.pem")],
        ],
        { stdio: "ignore" },
      );
    } catch (error) {
      throw new Error("this test needs the openssl command (Debian: apt-get install openssl)", {
        cause: error,
      });
    }
    const tlsPort = await freePort();
    own = await startOwnRedis({
      args: [
        ...["--tls-port", String(tlsPort), "--tls-auth-clients", "no"],
        ...["--tls-cert-file", join(certs, "cert.pem"), "--tls-key-file", join(certs, "key.pem")],
      ],
    });
    expectQuickFailure(
      await exitOf({ REDIS_URL: `rediss://127.0.0.1:${tlsPort}`, TOLLGATE_ADDRESS: "127.0.0.1:0" }),
      `REDIS_URL rediss://127.0.0.1:${tlsPort}: TLS: the server's certificate does not verify (DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate); for a private CA, set NODE_EXTRA_CA_CERTS to its PEM file`,
    );
  });
});
