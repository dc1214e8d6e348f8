// Imported for the module augmentation below (ProvidedContext).

import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { type OwnCluster, startOwnCluster } from "./redis-cluster.js";
import { type OwnRedis, startOwnRedis } from "./redis-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The Redis every Redis-backed test uses (REDIS_URL, or one started for this run). */
    redisUrl: string;
    /** A seed node of the 3-master Redis Cluster started for this run (conformance on a cluster). */
    redisClusterUrl: string;
  }
}

let own: OwnRedis | undefined;
let ownCluster: OwnCluster | undefined;

/**
 * Gives every test a real Redis: REDIS_URL when set (it must answer: a missing Redis is a failure,
 * never a skip), else a redis-server started for this run. Tests isolate themselves with a random
 * key prefix, so sharing one server is safe. Also starts a 3-master Redis Cluster of its own
 * (there is no shared one to borrow), so the conformance cases run on a cluster too; it forms
 * while the single Redis is checked. And builds the web monitor when its sources changed (test/web
 * opens it in a browser; servers serve it from web/dist), meanwhile too.
 */
export async function setup(project: TestProject): Promise<void> {
  const cluster = startOwnCluster({ masters: 3 });
  const webBuilt = buildWebMonitor();
  // Awaited below; until then a failure must not surface as an unhandled rejection.
  cluster.catch(() => {});
  webBuilt.catch(() => {});
  try {
    project.provide("redisUrl", await singleRedis());
    ownCluster = await cluster;
    await webBuilt;
  } catch (error) {
    // Teardown is not promised after a failed setup: stop here whatever did start.
    await Promise.all([
      own?.dispose(),
      cluster.then(
        (c) => c.dispose(),
        () => {},
      ),
    ]);
    own = undefined;
    throw error;
  }
  project.provide("redisClusterUrl", ownCluster.seedUrl);
}

/** `npm run build:web -- --if-changed`: a fresh clone's first test run builds it. */
async function buildWebMonitor(): Promise<void> {
  const root = resolve(import.meta.dirname, "../..");
  const tsx = createRequire(import.meta.url).resolve("tsx/cli");
  await promisify(execFile)(process.execPath, [tsx, "scripts/build-web.ts", "--if-changed"], {
    cwd: root,
  }).catch((error: { stderr?: string }) => {
    throw new Error(`building the web monitor failed:\n${error.stderr ?? ""}`, { cause: error });
  });
}

/** REDIS_URL, checked to answer, else the URL of a redis-server started for this run. */
async function singleRedis(): Promise<string> {
  const url = process.env.REDIS_URL;
  if (!url) {
    own = await startOwnRedis();
    return own.url;
  }
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
  return url;
}

export async function teardown(): Promise<void> {
  await Promise.all([own?.dispose(), ownCluster?.dispose()]);
}
