import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import {
  credentials,
  loadPackageDefinition,
  makeGenericClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { service as healthService } from "grpc-health-check";
import { afterEach, describe, expect, it } from "vitest";
import { LedgerError } from "../../server/ledger/ledger-error.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";
import { type Harness, startHarness } from "../rpc/harness.js";

type HealthClient = {
  check(
    request: { service: string },
    callback: (error: ServiceError | null, response: { status: string }) => void,
  ): void;
  close(): void;
};

function healthClient(address: string): HealthClient {
  const Client = makeGenericClientConstructor(healthService, "Health");
  return new Client(address, credentials.createInsecure()) as unknown as HealthClient;
}

function check(client: HealthClient, service: string): Promise<string> {
  return new Promise((resolve, reject) =>
    client.check({ service }, (error, response) =>
      error ? reject(error) : resolve(response.status),
    ),
  );
}

async function eventually(probe: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
}

/** One request on a grpc.reflection.v1 ServerReflectionInfo stream. */
function reflect(address: string, request: Record<string, string>): Promise<ReflectionResponse> {
  const definition = loadSync(
    "node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto",
    { keepCase: false, longs: String, defaults: false, oneofs: true },
  );
  const pkg = loadPackageDefinition(definition) as unknown as {
    grpc: {
      reflection: {
        v1: {
          ServerReflection: new (
            a: string,
            c: unknown,
          ) => {
            serverReflectionInfo(): NodeJS.ReadWriteStream & {
              write(m: unknown): boolean;
              end(): void;
            };
            close(): void;
          };
        };
      };
    };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const stream = client.serverReflectionInfo();
    stream.on("data", (response: ReflectionResponse) => {
      stream.end();
      client.close();
      resolve(response);
    });
    stream.on("error", reject);
    stream.write(request);
  });
}

describe("health and reflection", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("answers SERVING for the server and both services, NOT_SERVING while the store is down", async () => {
    const store = new MemoryLedgerStore();
    let down = false;
    const ping = store.ping.bind(store);
    store.ping = async () => {
      if (down) throw new LedgerError("STORE_UNAVAILABLE", "down");
      return ping();
    };
    h = await startHarness({ store, healthIntervalMs: 50 });
    const client = healthClient(h.server.address);
    try {
      for (const name of [
        "",
        "tollgate.v1.WalletService",
        "tollgate.v1.ReceiptService",
        "tollgate.v1.EventService",
      ]) {
        expect(await check(client, name)).toBe("SERVING");
      }
      down = true;
      await eventually(async () => (await check(client, "")) === "NOT_SERVING");
      expect(await check(client, "tollgate.v1.WalletService")).toBe("NOT_SERVING");
      down = false;
      await eventually(async () => (await check(client, "")) === "SERVING");
      const unknown = await check(client, "no.such.Service").catch((e: ServiceError) => e.code);
      expect(unknown).toBe(5); // NOT_FOUND, per the health protocol
    } finally {
      client.close();
    }
  });

  it("lists every tollgate service and health via reflection, and serves their descriptors", async () => {
    h = await startHarness();
    const listed = await reflect(h.server.address, { listServices: "*" });
    expect(listed.listServicesResponse?.service.map((s) => s.name).sort()).toEqual([
      "grpc.health.v1.Health",
      "tollgate.v1.AgentKeyService",
      "tollgate.v1.CatalogService",
      "tollgate.v1.CredentialService",
      "tollgate.v1.EventService",
      "tollgate.v1.ReceiptService",
      "tollgate.v1.WalletService",
    ]);

    const files = await reflect(h.server.address, {
      fileContainingSymbol: "tollgate.v1.WalletService",
    });
    const protos = (files.fileDescriptorResponse?.fileDescriptorProto ?? []).map((b) =>
      fromBinary(FileDescriptorProtoSchema, b),
    );
    const walletService = protos.flatMap((p) => p.service).find((s) => s.name === "WalletService");
    expect(walletService?.method.map((m) => m.name)).toEqual([
      "CreateWallet",
      "GetWallet",
      "ListWallets",
      "AddCredits",
      "CloseWallet",
      "Spend",
      "Authorize",
      "Capture",
      "Void",
      "SpendStream",
    ]);
    // The imports come along, so a reflection client can resolve Wallet, Charge and Timestamp.
    const messages = protos.flatMap((p) => p.messageType.map((m) => `${p.package}.${m.name}`));
    expect(messages).toEqual(
      expect.arrayContaining([
        "tollgate.v1.Wallet",
        "tollgate.v1.Charge",
        "google.protobuf.Timestamp",
      ]),
    );
  });
});
