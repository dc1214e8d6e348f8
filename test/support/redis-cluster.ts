import { execFile } from "node:child_process";
import { Redis } from "ioredis";
import { freePort, isFree, type OwnRedis, startOwnRedis } from "./redis-server.js";

/** A Redis Cluster this test run owns: its own redis-server processes, torn down by `dispose`. */
export interface OwnCluster {
  /** `redis://127.0.0.1:<port>` of the first node: the seed a cluster client starts from. */
  seedUrl: string;
  /** The masters, in the order `--cluster create` gave them their slot ranges. */
  nodes: OwnRedis[];
  /** Stops every node and deletes their data directories. */
  dispose(): Promise<void>;
}

/**
 * How long forming the cluster may take. `redis-cli --cluster create` polls the join once a
 * second and a loaded 2-core machine can be slow to gossip; forming normally takes 1-2 s, so
 * this only bounds a hang.
 */
const formTimeoutMs = 30_000;

/**
 * Starts `masters` cluster-enabled redis-servers (no replicas) and joins them into one cluster
 * with `redis-cli --cluster create`, which gives each an equal range of the 16384 slots. Resolves
 * once every node reports `cluster_state:ok`, so a client connecting right away finds every slot
 * served. Any failure stops the nodes started so far.
 */
export async function startOwnCluster(
  options: {
    masters?: number;
    /** `cluster-node-timeout`: how long a silent master takes to be marked failed (15 s default). */
    nodeTimeoutMs?: number;
  } = {},
): Promise<OwnCluster> {
  const nodes: OwnRedis[] = [];
  const dispose = async () => {
    await Promise.all(nodes.splice(0).map((node) => node.dispose()));
  };
  try {
    for (let i = 0; i < (options.masters ?? 3); i++) {
      nodes.push(
        await startOwnRedis({
          port: await freeNodePort(),
          // The config file path is relative: inside the node's own temp directory, deleted
          // with it.
          args: [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            String(options.nodeTimeoutMs ?? 15_000),
          ],
        }),
      );
    }
    await redisCli([
      "--cluster",
      "create",
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    await Promise.all(nodes.map((node) => waitForClusterOk(node.port)));
  } catch (error) {
    await dispose();
    throw error;
  }
  const [seed] = nodes;
  if (seed === undefined) throw new Error("a cluster needs at least one master");
  return { seedUrl: seed.url, nodes: [...nodes], dispose };
}

/**
 * A free port whose cluster bus port (port + 10000, fixed before Redis 7's `--cluster-port`) is
 * free too, so the nodes start on any Redis that CI's package manager installs.
 */
async function freeNodePort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && (await isFree(port + 10_000))) return port;
  }
}

function redisCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("redis-cli", args, { timeout: formTimeoutMs }, (error, stdout, stderr) => {
      if (error) {
        reject(
          new Error(`redis-cli ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`),
        );
      } else resolve();
    });
  });
}

/** Polls CLUSTER INFO until the node sees every slot served. */
async function waitForClusterOk(port: number): Promise<void> {
  const redis = new Redis({ port, host: "127.0.0.1", lazyConnect: true });
  redis.on("error", () => {});
  try {
    const deadline = Date.now() + formTimeoutMs;
    let info = "";
    while (!/^cluster_state:ok\r?$/m.test(info)) {
      if (Date.now() > deadline) {
        throw new Error(`node ${port} never reached cluster_state:ok:\n${info}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      info = await redis.cluster("INFO");
    }
  } finally {
    redis.disconnect();
  }
}
