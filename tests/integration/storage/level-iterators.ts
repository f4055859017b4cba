/**
 * Counts the LevelDB iterators open in dynalite's databases in this process. Every abstract-level
 * iterator attaches itself to its database when it is made and detaches when it closes; this wraps
 * those two methods of the abstract-level copies that dynalite's backends (level on disk,
 * memory-level in memory) are built on. dynalite does not expose its database, so this is the way
 * to see an iterator that nobody closes.
 */
import { createRequire } from 'node:module';

interface AbstractLevelPrototype {
  attachResource(resource: object): void;
  detachResource(resource: object): void;
}

export interface LevelIterators {
  /** Iterators made and not closed yet. */
  open(): number;
  /** Iterators made since tracking started. */
  opened(): number;
  /** Puts the methods back. */
  stop(): void;
}

function abstractLevelPrototypes(): AbstractLevelPrototype[] {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const fromLevel = createRequire(fromDynalite.resolve('level'));
  const copies = [
    createRequire(fromLevel.resolve('classic-level'))('abstract-level'),
    createRequire(fromDynalite.resolve('memory-level'))('abstract-level'),
  ] as Array<{ AbstractLevel: { prototype: AbstractLevelPrototype } }>;
  return [...new Set(copies.map((copy) => copy.AbstractLevel.prototype))];
}

/** Starts counting; call before the iterators to count are made. */
export function trackLevelIterators(): LevelIterators {
  const open = new Set<object>();
  let opened = 0;
  const restores: Array<() => void> = [];
  for (const prototype of abstractLevelPrototypes()) {
    const { attachResource, detachResource } = prototype;
    prototype.attachResource = function (resource) {
      // Resources are iterators and snapshots: only iterators have next().
      if (typeof (resource as { next?: unknown }).next === 'function') {
        open.add(resource);
        opened++;
      }
      attachResource.call(this, resource);
    };
    prototype.detachResource = function (resource) {
      open.delete(resource);
      detachResource.call(this, resource);
    };
    restores.push(() => {
      prototype.attachResource = attachResource;
      prototype.detachResource = detachResource;
    });
  }
  return {
    open: () => open.size,
    opened: () => opened,
    stop() {
      for (const restore of restores.splice(0)) restore();
    },
  };
}
