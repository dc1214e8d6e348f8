// Imported for the module augmentation below (ProvidedContext).

import { Redis } from "ioredis";
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { type OwnRedis, startOwnRedis } from "./redis-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The Redis every Redis-backed test uses (REDIS_URL, or one started for this run). */
    redisUrl: string;
  }
}

let own: OwnRedis | undefined;

/**
 * Gives every test a real Redis: REDIS_URL when set (it must answer: a missing Redis is a failure,
 * never a skip), else a redis-server started for this run. Tests isolate themselves with a random
 * key prefix, so sharing one server is safe.
 */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.REDIS_URL;
  if (url) {
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.ping();
    } catch (error) {
      throw new Error(`REDIS_URL=${url} is not reachable`, { cause: error });
    } finally {
      probe.disconnect();
    }
  } else {
    own = await startOwnRedis();
    url = own.url;
  }
  project.provide("redisUrl", url);
}

export async function teardown(): Promise<void> {
  await own?.dispose();
}
