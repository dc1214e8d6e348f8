import type { ClientDuplexStream } from "@grpc/grpc-js";

/** A message that carries a correlation id (SpendStreamRequest and SpendStreamResponse both do). */
interface Correlated {
  correlationId: number;
}

/**
 * Turns one bidirectional stream into request/response calls: each call gets the next correlation
 * id and resolves when the answer with that id arrives, in whatever order answers come. This is
 * what a client in streaming mode does, minus reconnects and replays.
 */
export class StreamCaller<Req extends Correlated, Res extends Correlated> {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(r: Res): void; reject(e: unknown): void }>();
  private failure: unknown;

  constructor(private readonly stream: ClientDuplexStream<Req, Res>) {
    stream.on("data", (answer: Res) => {
      const waiter = this.waiting.get(answer.correlationId);
      this.waiting.delete(answer.correlationId);
      waiter?.resolve(answer);
    });
    stream.on("error", (error: unknown) => this.failAll(error));
    stream.on("end", () => this.failAll(new Error("stream ended")));
  }

  /** Sends `message` (its correlation id is set here) and resolves with its answer. */
  call(message: Omit<Req, "correlationId">): Promise<Res> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const correlationId = this.nextId;
    this.nextId = this.nextId === 0xffff_ffff ? 1 : this.nextId + 1;
    return new Promise<Res>((resolve, reject) => {
      this.waiting.set(correlationId, { resolve, reject });
      this.stream.write({ ...message, correlationId } as Req);
    });
  }

  /** Half-closes and waits for the server to end the stream. */
  async close(): Promise<void> {
    if (this.failure !== undefined) return;
    const ended = new Promise<void>((resolve) => {
      this.stream.on("status", () => resolve());
    });
    this.stream.end();
    await ended;
  }

  private failAll(error: unknown): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
