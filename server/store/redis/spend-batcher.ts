import type { SpendCommand } from "../ledger-store.js";

/**
 * The most spends one script call carries. A spend is about a tenth of a millisecond of Redis
 * time, so a full batch holds Redis for a few milliseconds: other tenants' calls wait behind it
 * no longer than behind one batch of pending work (Limits.workBatch).
 */
export const maxSpendsPerScript = 32;

/**
 * Sends one group of spends, all of one project on one tree, as one script call; resolves with
 * what each came to, in order: its payload, or its refusal. Rejects when none of them ran (the
 * store is unavailable, or the only spend was refused).
 */
export type SendSpends = (spends: readonly SpendCommand[]) => Promise<Array<string[] | Error>>;

interface Waiting {
  cmd: SpendCommand;
  resolve(payload: string[]): void;
  reject(error: unknown): void;
}

/**
 * Gathers the spends that reach the store in one turn of the event loop and sends those of the
 * same tree (and project) together, `maxSpendsPerScript` at a time, in the order they came: the
 * concurrent operations of a SpendStream, or concurrent unary calls on one task's wallets. Each
 * spend still gets its own reply, refusal, idempotency record, line and events; what is shared
 * is the round trip, the socket write and the script's fixed cost (opening the tree, working off
 * its pending work, the notification). A spend alone in its turn is sent alone, as before.
 *
 * The turn ends with `setImmediate`: by then every request whose bytes arrived together has run
 * up to its store call, however many awaits it took to get there.
 */
export class SpendBatcher {
  private waiting = new Map<string, Waiting[]>();
  private scheduled = false;

  constructor(
    private readonly treeOf: (cmd: SpendCommand) => string,
    private readonly send: SendSpends,
  ) {}

  /** Queues `cmd` for this turn's batch of its tree; resolves with its own payload. */
  spend(cmd: SpendCommand): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const group = `${cmd.project}\n${this.treeOf(cmd)}`;
      const queue = this.waiting.get(group);
      if (queue === undefined) this.waiting.set(group, [{ cmd, resolve, reject }]);
      else queue.push({ cmd, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const groups = this.waiting;
    this.waiting = new Map();
    this.scheduled = false;
    for (const queue of groups.values()) {
      for (let at = 0; at < queue.length; at += maxSpendsPerScript) {
        this.sendBatch(queue.slice(at, at + maxSpendsPerScript));
      }
    }
  }

  private sendBatch(batch: Waiting[]): void {
    this.send(batch.map((w) => w.cmd)).then(
      (outcomes) => {
        batch.forEach((w, i) => {
          const outcome = outcomes[i];
          if (outcome === undefined) w.reject(new Error("spend-batch answered too few replies"));
          else if (outcome instanceof Error) w.reject(outcome);
          else w.resolve(outcome);
        });
      },
      (error: unknown) => {
        for (const w of batch) w.reject(error);
      },
    );
  }
}
