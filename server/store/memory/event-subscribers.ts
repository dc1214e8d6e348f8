import type { EventListener } from "../ledger-store.js";
import type { TreeState } from "./tree-state.js";

/**
 * The memory store's `subscribeEvents`: listeners per project, told about each step that
 * appended events to one of the project's trees (the twin of the Redis store's PUBLISH after a
 * script).
 *
 * A step marks its tree when it appends; the notification goes out in a microtask, which runs
 * once the step's synchronous turn is over. So a listener is never told before the step's events
 * are readable, a step that appends several events (a spend and its alerts, a close batch) is
 * announced once with its last event, and a step that appends nothing is not announced at all.
 * State lives in this process, so no notification can be missed: listeners are never called with
 * `undefined`.
 */
export class EventSubscribers {
  private readonly listeners = new Map<string, Set<EventListener>>();
  /** Trees that appended since the last flush. */
  private readonly marked = new Set<TreeState>();

  /** Adds a listener for the trees of `project`; returns its removal. */
  subscribe(project: string, listener: EventListener): () => void {
    let set = this.listeners.get(project);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(project, set);
    }
    // Wrapped, so the same function subscribed twice is two subscriptions, as in Redis.
    const entry: EventListener = (rootId, position) => listener(rootId, position);
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.listeners.get(project) === set) this.listeners.delete(project);
    };
  }

  /** Called on every append; schedules one notification per tree for the end of the turn. */
  mark(tree: TreeState): void {
    if (!this.listeners.has(tree.project)) return;
    if (this.marked.size === 0) queueMicrotask(() => this.flush());
    this.marked.add(tree);
  }

  /** Tells each marked tree's listeners its head: the last event of the step that marked it. */
  private flush(): void {
    const trees = [...this.marked];
    this.marked.clear();
    for (const tree of trees) {
      const listeners = this.listeners.get(tree.project);
      if (listeners === undefined) continue;
      const head = tree.events.head;
      for (const listener of [...listeners]) {
        // One listener's failure must not keep the others from hearing about the step.
        try {
          listener(tree.rootId, { ...head });
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    }
  }
}
