import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServerCredentials, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Mode, UnavailableError } from "../../client/index.js";
import { rejection, type Served, serve } from "./support.js";

/** A self-signed certificate for 127.0.0.1 and localhost, made by openssl for this run only. */
function selfSigned(): { cert: Buffer; key: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-tls-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    return { cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** TLS for real: a grpc-js server with a self-signed certificate, the client trusting only it. */
describe("TLS", () => {
  let served: Served;
  let cert: Buffer;
  beforeAll(async () => {
    const pair = selfSigned();
    cert = pair.cert;
    served = await serve({
      server: {
        tls: ServerCredentials.createSsl(null, [{ private_key: pair.key, cert_chain: pair.cert }]),
      },
    });
  });
  afterAll(async () => {
    await served.dispose();
  });

  it.each<Mode>(["unary", "stream"])("works over TLS with the server's root (%s)", async (mode) => {
    const tg = served.client({ tls: { rootCerts: cert }, mode });
    const wallet = await tg.wallets.create({ budget: 10 });
    const spent = await wallet.spend(3, { service: "tls" });
    expect(spent.remaining).toBe(7n);
    expect((await wallet.getReceipt()).totalCredits).toBe(3n);
  });

  it("refuses plaintext against a TLS server, and a TLS client without the root", async () => {
    const quick = { retry: { maxAttempts: 1 }, deadlineMs: 2000 };
    const plaintext = served.client({ ...quick });
    const untrusting = served.client({ ...quick, tls: true });
    for (const tg of [plaintext, untrusting]) {
      const error = await rejection(tg.wallets.create({ budget: 1 }));
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as UnavailableError).code).toBe(status.UNAVAILABLE);
    }
  });
});
