/**
 * Retries `attempt` until it succeeds, for up to 15 s: for a client that reconnects in the
 * background after its Redis came back. Polls instead of sleeping a guessed time.
 */
export async function eventually<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
