import { createClient, type TollgateClient, type Wallet } from "../client/index.js";
import {
  budget,
  type Scenario,
  type ScenarioContext,
  type Session,
  service,
  spendMetadata,
  spentProblem,
} from "./scenarios.js";

const spendOptions = { service, metadata: spendMetadata };

/**
 * The same spends through the typed client (`tollgate/client`), as an agent would make them:
 * amount checks, a request id per call, a deadline per attempt, typed results and errors. Next to
 * the generated-stub rows they show what the client itself adds.
 */
export const unarySpendTyped: Scenario = {
  name: "unary Spend (typed client)",
  floor: "echo unary",
  isFloor: false,
  usesServers: true,
  client: "typed client",
  role: "unary spend",
  open: (context) => openTyped(context, "unary"),
};

/** Streaming mode of the typed client: every spend multiplexed on its one SpendStream. */
export const streamingSpendsTyped: Scenario = {
  name: "streaming spends (typed client)",
  floor: "echo stream",
  isFloor: false,
  usesServers: true,
  client: "typed client",
  role: "streaming spends",
  open: (context) => openTyped(context, "stream"),
};

async function openTyped(
  { tollgateAddress, settings }: ScenarioContext,
  mode: "unary" | "stream",
): Promise<Session> {
  const tg: TollgateClient = createClient({
    address: tollgateAddress,
    apiKey: settings.apiKey,
    mode,
  });
  const wallet: Wallet = await tg.wallets.create({ name: "bench", budget, hardCap: true });
  return {
    op: () => wallet.spend(1, spendOptions),
    close: async (completed) => {
      await wallet.refresh();
      tg.close();
      return spentProblem(wallet.id, wallet.spent, completed);
    },
  };
}
