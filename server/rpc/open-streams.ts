/**
 * The open SpendStreams of one server, so that shutdown can ask each of them to wind down.
 *
 * grpc-js `tryShutdown` waits for every open call, and a SpendStream stays open for as long as
 * its client keeps it (the typed client closes an idle one after 1 s, an agent that keeps
 * spending never goes idle). Without a way to end them, shutdown would always run into its grace
 * deadline and then cut the streams' running operations instead of answering them.
 */
export class OpenStreams {
  private readonly windDowns = new Set<() => void>();
  private closing = false;

  /** Streams open now (registered and not yet forgotten). */
  get size(): number {
    return this.windDowns.size;
  }

  /** True once {@link windDownAll} has run. */
  get shuttingDown(): boolean {
    return this.closing;
  }

  /**
   * Registers an open stream's wind-down; returns the function that forgets it (call it when the
   * stream closes). A stream that opens after shutdown began (its call was accepted just before
   * the listener closed) is wound down at once.
   */
  add(windDown: () => void): () => void {
    if (this.closing) {
      windDown();
      return () => {};
    }
    this.windDowns.add(windDown);
    return () => {
      this.windDowns.delete(windDown);
    };
  }

  /** Asks every open stream, and every later one, to wind down. Idempotent. */
  windDownAll(): void {
    this.closing = true;
    const all = [...this.windDowns];
    this.windDowns.clear();
    for (const windDown of all) windDown();
  }
}
