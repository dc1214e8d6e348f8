/**
 * `npm run demo`: a multi-agent run against a running tollgate (start one with `npm start`).
 *
 * A 1000-credit hard-capped task wallet, researcher / writer / critic wallets carved out of it
 * (400 / 300 / 150), spends in rounds until a hard cap refuses one, then a receipt per child and
 * proof that they add up to the task's. Uses the generated grpc-js clients directly.
 *
 * Env: TOLLGATE_ADDRESS (default 127.0.0.1:50051), TOLLGATE_API_KEY (when the server has keys).
 */
import { randomUUID } from "node:crypto";
import { type CallOptions, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { ErrorInfo } from "../gen/ts-proto/google/rpc/error_details.js";
import { Status } from "../gen/ts-proto/google/rpc/status.js";
import { ReceiptServiceClient } from "../gen/ts-proto/tollgate/v1/receipt_service.js";
import { WalletServiceClient } from "../gen/ts-proto/tollgate/v1/wallet_service.js";

const address = process.env.TOLLGATE_ADDRESS || "127.0.0.1:50051";
const apiKey = process.env.TOLLGATE_API_KEY;

const wallets = new WalletServiceClient(address, credentials.createInsecure());
const receipts = new ReceiptServiceClient(address, credentials.createInsecure());
const metadata = new Metadata();
if (apiKey) metadata.set("authorization", `Bearer ${apiKey}`);

type Callback<Res> = (error: ServiceError | null, response: Res) => void;
type Unary<Req, Res> = (r: Req, m: Metadata, o: Partial<CallOptions>, cb: Callback<Res>) => unknown;

/** A generated unary method as a promise, with a deadline so a dead server cannot hang us. */
function call<C, Req, Res>(client: C, method: Unary<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 5000);
    method.call(client, request, metadata, { deadline }, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** The google.rpc.ErrorInfo a refusal carries in its `grpc-status-details-bin` trailer. */
function errorInfo(error: unknown): ErrorInfo | undefined {
  const bin = (error as ServiceError).metadata?.get("grpc-status-details-bin")[0];
  if (!(bin instanceof Buffer)) return undefined;
  const any = Status.decode(bin).details.find((d) => d.typeUrl.endsWith("google.rpc.ErrorInfo"));
  return any && ErrorInfo.decode(any.value);
}

const run = randomUUID().slice(0, 8);
const agents = [
  { role: "researcher", budget: 400n, service: "web_search", cost: 45n },
  { role: "writer", budget: 300n, service: "llm", cost: 35n },
  { role: "critic", budget: 150n, service: "llm", cost: 40n },
] as const;

async function main(): Promise<void> {
  console.log(`tollgate demo against ${address} (run ${run})`);
  const { wallet: task } = await call(wallets, wallets.createWallet, {
    parentId: "",
    name: "task",
    budget: 1000n,
    hardCap: true,
    metadata: { run },
    requestId: `demo-${run}-task`,
  });
  if (!task) throw new Error("no wallet in CreateWalletResponse");
  console.log(`task wallet ${task.id}: budget ${task.budget}, hard cap`);

  const children = [];
  for (const agent of agents) {
    const { wallet } = await call(wallets, wallets.createWallet, {
      parentId: task.id,
      name: agent.role,
      budget: agent.budget,
      metadata: { agent: agent.role },
      requestId: `demo-${run}-${agent.role}`,
    });
    if (!wallet) throw new Error("no wallet in CreateWalletResponse");
    children.push({ ...agent, id: wallet.id });
    console.log(`  ${agent.role.padEnd(11)} ${wallet.id}  budget ${wallet.budget}`);
  }

  let refused = false;
  for (let round = 1; !refused; round++) {
    const steps: string[] = [];
    for (const child of children) {
      try {
        const spent = await call(wallets, wallets.spend, {
          walletId: child.id,
          amount: child.cost,
          service: child.service,
          metadata: { agent: child.role },
          requestId: `demo-${run}-${child.role}-${round}`,
        });
        steps.push(`${child.role} -${child.cost} (${spent.remaining} left)`);
      } catch (error) {
        const info = errorInfo(error);
        if (info?.reason !== "INSUFFICIENT_CREDITS") throw error;
        const { requested, available } = info.metadata;
        steps.push(
          `${child.role} refused: ${info.reason} (requested ${requested}, available ${available})`,
        );
        refused = true;
        break;
      }
    }
    console.log(`round ${round}: ${steps.join(", ")}`);
  }

  console.log("receipts:");
  let sum = 0n;
  for (const child of children) {
    const { receipt } = await call(receipts, receipts.getReceipt, { walletId: child.id });
    if (!receipt) throw new Error("no receipt in GetReceiptResponse");
    sum += receipt.totalCredits;
    const services = receipt.byService.map((b) => `${b.key} ${b.credits}`).join(", ");
    console.log(
      `  ${child.role.padEnd(11)} ${receipt.totalCredits} credits in ${receipt.callCount} calls (${services})`,
    );
  }
  const { receipt: total } = await call(receipts, receipts.getReceipt, { walletId: task.id });
  if (!total) throw new Error("no receipt in GetReceiptResponse");
  const parts = total.children.map((c) => String(c.totalCredits)).join(" + ");
  const addsUp = total.totalCredits === sum;
  console.log(
    `  ${"task".padEnd(11)} ${total.totalCredits} credits in ${total.callCount} calls = ${parts} ${addsUp ? "(adds up)" : "(DOES NOT ADD UP)"}`,
  );
  if (!addsUp) process.exitCode = 1;
}

main()
  .catch((error: unknown) => {
    const e = error as Partial<ServiceError>;
    console.error(`demo failed: ${e.details ?? e.message ?? String(error)}`);
    if (e.code === 14) console.error(`is tollgate running at ${address}? start it with npm start`);
    process.exitCode = 1;
  })
  .finally(() => {
    wallets.close();
    receipts.close();
  });
