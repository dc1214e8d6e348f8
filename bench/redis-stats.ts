import type { Redis } from "ioredis";

/**
 * What Redis reports about itself that the bench takes deltas of around a run: the redis-server
 * process's CPU time and the script commands it has served. Deltas include every client of that
 * Redis, so on a shared one they are only as clean as the machine is quiet.
 */
export interface RedisSample {
  /** `INFO cpu` used_cpu_user + used_cpu_sys of the redis-server process, µs (all its threads). */
  cpuMicros: number;
  /** Calls of every script command (`cmdstat_eval*` and `cmdstat_fcall*` of `INFO commandstats`). */
  scriptCalls: number;
  /** Time Redis spent inside those calls, µs (`usec`). */
  scriptUsec: number;
  /** `cmdstat_evalsha` calls alone (what the store sends: ioredis `defineCommand`). */
  evalshaCalls: number;
}

/** One {@link RedisSample}: two INFO sections in one round trip. */
export async function sampleRedis(redis: Redis): Promise<RedisSample> {
  const results = await redis.multi().info("cpu").info("commandstats").exec();
  const [cpu, commands] = (results ?? []).map(([error, text]) => {
    if (error) throw error;
    return String(text);
  });
  return parseRedisSample(cpu ?? "", commands ?? "");
}

/** Parses `INFO cpu` and `INFO commandstats` text into a {@link RedisSample}. */
export function parseRedisSample(cpuInfo: string, commandStats: string): RedisSample {
  const field = (name: string) => {
    const match = new RegExp(`^${name}:([0-9.]+)`, "m").exec(cpuInfo);
    return match ? Number(match[1]) : 0;
  };
  const cpuMicros = Math.round((field("used_cpu_user") + field("used_cpu_sys")) * 1e6);
  let scriptCalls = 0;
  let scriptUsec = 0;
  let evalshaCalls = 0;
  for (const match of commandStats.matchAll(
    /^cmdstat_((?:eval|fcall)[a-z_]*):calls=(\d+),usec=(\d+)/gm,
  )) {
    const [, name, calls, usec] = match;
    scriptCalls += Number(calls);
    scriptUsec += Number(usec);
    if (name === "evalsha") evalshaCalls += Number(calls);
  }
  return { cpuMicros, scriptCalls, scriptUsec, evalshaCalls };
}

/** `b - a`, field by field. */
export function redisDelta(a: RedisSample, b: RedisSample): RedisSample {
  return {
    cpuMicros: b.cpuMicros - a.cpuMicros,
    scriptCalls: b.scriptCalls - a.scriptCalls,
    scriptUsec: b.scriptUsec - a.scriptUsec,
    evalshaCalls: b.evalshaCalls - a.evalshaCalls,
  };
}

/** `INFO server` redis_version, or "?" when it does not say. */
export async function redisVersion(redis: Redis): Promise<string> {
  const info = await redis.info("server");
  return /^redis_version:(\S+)/m.exec(info)?.[1] ?? "?";
}

/** `INFO memory` used_memory, bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  const match = /^used_memory:(\d+)/m.exec(info);
  if (!match) throw new Error("INFO memory has no used_memory");
  return Number(match[1]);
}
