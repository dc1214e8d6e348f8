import { credentials } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import {
  EventServiceClient,
  type WatchEventsResponse,
} from "../gen/ts-proto/tollgate/v1/event_service.js";
import { bearer, openStub, type Scenario } from "./scenarios.js";

/**
 * Unary spends through the generated stub (the "unary Spend" row's very code) on a wallet that
 * `watchers` WatchEvents streams follow, each in this process as a monitor would run beside the
 * agents. The rows show what watchers cost the spend path (the goal: 10 watchers under
 * 10%), how long a committed event takes to reach a watcher (its commit time to its arrival,
 * one clock), and how many Redis script calls a spend makes (one: the event is appended by the
 * spend's own script).
 */
export function watchedSpends(watchers: number): Scenario {
  return {
    name: `unary Spend, ${watchers} watcher${watchers === 1 ? "" : "s"}`,
    floor: "echo unary",
    isFloor: false,
    usesServers: true,
    client: "generated stub",
    role: "watched spends",
    watchers,
    async open(context) {
      const redis = new Redis(context.settings.redisUrl);
      redis.on("error", () => {});
      const session = await openStub(context, "unary", "tollgate");
      const lags: number[] = [];
      const client = new EventServiceClient(context.tollgateAddress, credentials.createInsecure());
      const calls = Array.from({ length: watchers }, () => {
        const call = client.watchEvents(
          { walletId: session.walletId, kinds: [], after: "" },
          bearer(context.settings.apiKey),
        );
        call.on("data", (message: WatchEventsResponse) => {
          if (message.event?.time) lags.push(Date.now() - message.event.time.getTime());
        });
        call.on("error", () => {});
        return call;
      });
      const callsBefore = await evalshaCalls(redis);
      let perSpend: number | undefined;
      return {
        op: session.op,
        async close(completed) {
          const callsAfter = await evalshaCalls(redis);
          perSpend = completed > 0 ? (callsAfter - callsBefore) / completed : undefined;
          for (const call of calls) call.cancel();
          client.close();
          redis.disconnect();
          return session.close(completed);
        },
        measurements: () => ({ watcherLagMs: lags, redisCallsPerSpend: perSpend }),
      };
    },
  };
}

/** Script calls Redis has served so far (`INFO commandstats`). */
async function evalshaCalls(redis: Redis): Promise<number> {
  const info = await redis.info("commandstats");
  const match = /cmdstat_evalsha:calls=(\d+)/.exec(info);
  return match ? Number(match[1]) : 0;
}
