import { Cluster, Redis } from "ioredis";
import type { EventListener } from "../ledger-store.js";
import { type RedisClient, reconnectDelayMs } from "./connect.js";
import { decodePosition } from "./decode.js";

/**
 * The Redis store's side of `subscribeEvents`: one dedicated subscriber connection per store,
 * opened on the first subscription, with one SUBSCRIBE per channel (a project's) however many
 * listeners it has, and an UNSUBSCRIBE when its last listener goes.
 *
 * Notifications only wake readers, so what matters is never to leave a listener asleep while
 * events it was not told of may be waiting. A listener is therefore called with `undefined`
 * whenever its channel's subscription is (re)established: once the SUBSCRIBE is confirmed after
 * it subscribed (an event committed between the listener's first read and that moment would
 * otherwise go unannounced), and after every reconnect (messages published while the
 * connection was down are lost). Both mean "read every watched tree again".
 *
 * On one Redis the connection is a `duplicate()` of the store's client, reconnecting forever
 * like it. On a Redis Cluster it is a plain connection to one master: a classic PUBLISH (which
 * the scripts use, from whichever master holds the tree) is broadcast to every node over the
 * cluster bus, so any node hears every project's notifications. When that node stays away a
 * few reconnects long, another master is picked. ioredis's own cluster pub/sub is not used
 * because it resubscribes on a new node without telling anyone, and a reconnect must be told.
 */
export class EventSubscriber {
  private connection: Redis | undefined;
  private readonly channels = new Map<string, Channel>();
  private reopenTimer: NodeJS.Timeout | undefined;
  private reopenAttempt = 0;
  private closed = false;

  constructor(private readonly client: RedisClient) {}

  /** Calls `listener` for each notification on `channel` (see the class). Returns unsubscribe. */
  subscribe(channel: string, listener: EventListener): () => void {
    if (this.closed) return () => {};
    let state = this.channels.get(channel);
    if (state === undefined) {
      state = { entries: new Set(), live: false };
      this.channels.set(channel, state);
    }
    const entry = { listener };
    state.entries.add(entry);
    if (this.connection === undefined) this.open();
    else if (state.entries.size === 1) this.sendSubscribe(this.connection, [channel]);
    const subscribed = state;
    return () => {
      if (!subscribed.entries.delete(entry) || subscribed.entries.size > 0) return;
      if (this.channels.get(channel) !== subscribed) return;
      this.channels.delete(channel);
      const connection = this.connection;
      if (connection?.status === "ready") connection.unsubscribe(channel).catch(() => {});
    };
  }

  /** Closes the connection; later subscriptions are ignored. Idempotent. */
  close(): void {
    this.closed = true;
    clearTimeout(this.reopenTimer);
    this.channels.clear();
    const connection = this.connection;
    this.connection = undefined;
    connection?.disconnect();
  }

  private open(): void {
    if (this.closed || this.connection !== undefined) return;
    const connection = this.connect();
    if (connection === undefined) {
      this.reopenLater();
      return;
    }
    this.connection = connection;
    // Outages are the store client's to report; this connection only follows them.
    connection.on("error", () => {});
    connection.on("ready", () => {
      if (this.connection !== connection) return;
      this.reopenAttempt = 0;
      const names = [...this.channels.keys()];
      if (names.length > 0) this.sendSubscribe(connection, names);
    });
    connection.on("close", () => {
      if (this.connection !== connection) return;
      for (const state of this.channels.values()) state.live = false;
    });
    connection.on("end", () => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      this.reopenLater();
    });
    connection.on("message", (channel: string, message: string) => {
      const state = this.channels.get(channel);
      const space = message.indexOf(" ");
      if (state === undefined || space === -1) return;
      const rootId = message.slice(0, space);
      let position: ReturnType<typeof decodePosition>;
      try {
        position = decodePosition(message.slice(space + 1));
      } catch {
        return;
      }
      notify(state, rootId, position);
    });
  }

  /**
   * A new subscriber connection, or undefined when there is nowhere to connect yet (a cluster
   * whose masters are not known).
   */
  private connect(): Redis | undefined {
    const own = { autoResubscribe: false, lazyConnect: false, enableOfflineQueue: false };
    if (!(this.client instanceof Cluster)) return this.client.duplicate(own);
    const masters = this.client.nodes("master");
    const node = masters[Math.floor(Math.random() * masters.length)];
    if (node === undefined) return undefined;
    return new Redis({
      ...this.client.options.redisOptions,
      ...own,
      host: node.options.host,
      port: node.options.port,
      // A few attempts on this node, then "end": another master is picked.
      retryStrategy: (attempt) => (attempt > 3 ? null : reconnectDelayMs(attempt)),
    });
  }

  private reopenLater(): void {
    if (this.closed || this.reopenTimer !== undefined) return;
    this.reopenAttempt += 1;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      this.open();
    }, reconnectDelayMs(this.reopenAttempt));
    this.reopenTimer.unref();
  }

  /**
   * SUBSCRIBEs `names`; once Redis confirms, each channel still wanted (by the same listeners'
   * state: one dropped and taken again meanwhile waits for its own SUBSCRIBE) is live and its
   * listeners are told to read again. A failure leaves it to the next "ready".
   */
  private sendSubscribe(connection: Redis, names: string[]): void {
    if (connection.status !== "ready") return;
    const states = names.map((name) => this.channels.get(name));
    connection.subscribe(...names).then(
      () => {
        if (this.connection !== connection || connection.status !== "ready") return;
        names.forEach((name, i) => {
          const state = states[i];
          if (state === undefined || this.channels.get(name) !== state || state.live) return;
          state.live = true;
          notify(state, undefined, undefined);
        });
      },
      () => {},
    );
  }
}

/** A channel's listeners (an entry each, so one function may listen twice) and whether it is on. */
interface Channel {
  entries: Set<{ listener: EventListener }>;
  live: boolean;
}

/**
 * Calls every listener of `state`. One that throws does not keep the others from hearing; its
 * error is rethrown on its own turn, as an EventEmitter listener's would be.
 */
function notify(
  state: Channel,
  rootId: string | undefined,
  position: ReturnType<typeof decodePosition> | undefined,
): void {
  for (const { listener } of [...state.entries]) {
    try {
      listener(rootId, position);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
