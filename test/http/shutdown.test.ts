import { connect } from "node:net";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CreateWalletRequestSchema } from "../../gen/es/tollgate/v1/wallet_service_pb.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";
import { gatedSpends } from "../rpc/gated-spends.js";
import { startHttpHarness } from "./harness.js";

describe("the HTTP face at shutdown", () => {
  it("finishes a call in flight, refuses the next one on the same connection 503, and closes", async () => {
    const { store, gate } = gatedSpends(new MemoryLedgerStore());
    const h = await startHttpHarness({ store, shutdownGraceMs: 10_000 });
    const { wallet } = await h
      .wallets("connect+json")
      .createWallet(
        create(CreateWalletRequestSchema, { requestId: "root", name: "t", budget: 9n }),
      );
    const spend = (requestId: string) => {
      const body = JSON.stringify({ walletId: wallet?.id, amount: "1", service: "s", requestId });
      return [
        "POST /tollgate.v1.WalletService/Spend HTTP/1.1",
        `Host: 127.0.0.1:${h.server.httpPort}`,
        "Content-Type: application/json",
        `Content-Length: ${Buffer.byteLength(body)}`,
        "",
        body,
      ].join("\r\n");
    };
    // One kept-alive connection: the first spend waits at the gate; the second request comes on
    // the same connection after shutdown began (the listener is closed, the connection is not).
    const socket = connect(h.server.httpPort ?? 0, "127.0.0.1");
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("utf8");
    });
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.write(spend("first"));
    await gate.started(1);

    const stopped = h.close();
    socket.write(spend("second"));
    // Give the server the time to read the second request while the first still waits.
    await new Promise((resolve) => setTimeout(resolve, 200));
    gate.releaseAll();
    await stopped;
    await closed;

    const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    expect(statuses).toEqual(["200", "503"]);
    expect(received).toContain('"remaining":"8"');
    // Only the first spend reached the store.
    expect(gate.calls).toBe(1);
    expect(h.logs.filter((l) => l.method === "Spend").map((l) => [l.requestId, l.code])).toEqual([
      ["first", "OK"],
    ]);
  });
});
