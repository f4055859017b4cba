/** Waiting in tests for what happens in the background: read until a condition holds, or fail saying what was read last. */

export interface PollOptions {
  /** How long to keep reading (default 15 s). */
  timeoutMs?: number;
  /** The pause between two readings (default 20 ms). */
  intervalMs?: number;
}

export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  describe: (last: T) => string,
  { timeoutMs = 15_000, intervalMs = 20 }: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(describe(value));
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
