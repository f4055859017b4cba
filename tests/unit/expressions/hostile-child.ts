/**
 * Evaluates the expressions given as a JSON array in argv[2] (each a string, or an expression with
 * evaluation options), one after the other, in a process of its own (hostile.test.ts starts it with
 * a small heap): an expression that exhausts the heap kills this process, not the test runner.
 * Writes one JSON line before and one after each.
 */
import { type EvaluateOptions, evaluate } from '../../../shared/expressions/index.js';

const entries = JSON.parse(process.argv[2] ?? '[]') as Array<
  string | { expression: string; options: EvaluateOptions }
>;

for (const entry of entries) {
  const { expression, options } = typeof entry === 'string' ? { expression: entry, options: {} } : entry;
  process.stdout.write(`${JSON.stringify({ started: expression })}\n`);
  // The longest time the event loop went without a turn: a synchronous stall shows here.
  let last = Date.now();
  let maxGapMs = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 5);
  const started = Date.now();
  let outcome: Record<string, unknown>;
  try {
    const value = await evaluate(expression, {}, options);
    outcome = { value: JSON.stringify(value)?.slice(0, 100) };
  } catch (error) {
    const { code, details, message } = error as { code?: unknown; details?: unknown; message?: unknown };
    outcome = {
      code,
      details,
      message: String(message).slice(0, 300),
      messageLength: String(message).length,
    };
  }
  const ms = Date.now() - started;
  clearInterval(timer);
  maxGapMs = Math.max(maxGapMs, Date.now() - last);
  const heapMb = Math.round(process.memoryUsage().heapUsed / 1e6);
  process.stdout.write(`${JSON.stringify({ expression, ...outcome, ms, maxGapMs, heapMb })}\n`);
}
