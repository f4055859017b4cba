/**
 * Preloaded into the server the reliability harness starts (`node --expose-gc --import <this file>
 * bin/server.mjs`, with an IPC channel): answers `{type: 'memory', id, collect}` with the process's
 * memory, after full garbage collections when `collect` is true. It does nothing until asked, so the
 * server runs as `npm start` runs it; asking is what separates garbage the collector has not
 * reclaimed yet (RSS as `top` shows it) from memory the process keeps (RSS after a collection).
 */
import { readFileSync } from 'node:fs';

/**
 * Anonymous RSS (bytes): the heaps, V8's and malloc's, without file pages (the binary, and the
 * store's files that LevelDB maps into memory, which the kernel may drop and read again).
 */
function anonymousResident() {
  const status = readFileSync('/proc/self/status', 'utf8');
  return Number(/RssAnon:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

process.on('message', async (message) => {
  if (message?.type !== 'memory') return;
  if (message.collect) {
    // Three rounds, each after a turn of the event loop: finalizers and weak callbacks of one
    // collection free what the next one reclaims.
    for (let round = 0; round < 3; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      globalThis.gc();
    }
  }
  const usage = process.memoryUsage();
  process.send({ id: message.id, rss: usage.rss, rssAnon: anonymousResident(), heapUsed: usage.heapUsed });
});
// The channel must not keep the server alive: it stops as `npm start` does.
process.channel?.unref();
