/** The ArtifactStore in memory, for unit tests and the harness: the same names, keys, cursors and errors as S3. */
import { randomBytes } from 'node:crypto';
import { systemClock } from '../../adapters/clock.js';
import { NotFoundError } from '../../errors.js';
import type { ArtifactInfo, ArtifactStore, Clock, Page } from '../../ports/index.js';
import { CursorCodec } from '../cursor.js';
import { pageLimit } from '../paging.js';
import {
  artifactKey,
  artifactPrefix,
  compareKeys,
  decodeArtifactCursor,
  defaultContentType,
  encodeArtifactCursor,
  OCTET_STREAM,
  urlExpiry,
} from '../s3/artifact-rules.js';

export interface MemoryArtifactsOptions {
  clock?: Clock;
  /** Signs list cursors; a random key per store unless given (cursors never outlive the process anyway). */
  cursorKey?: string | Uint8Array;
  /** Objects of other buckets that `copyIn` may copy (a test's uploads); none by default. */
  buckets?: ReadonlyMap<string, ReadonlyMap<string, Uint8Array>>;
}

interface StoredArtifact {
  body: Uint8Array;
  content_type: string;
  updated_at: string;
}

export function createMemoryArtifacts(options: MemoryArtifactsOptions = {}): ArtifactStore {
  const clock = options.clock ?? systemClock;
  const cursors = new CursorCodec(options.cursorKey ?? randomBytes(32));
  const objects = new Map<string, StoredArtifact>();

  function info(name: string, stored: StoredArtifact): ArtifactInfo {
    return {
      name,
      size: stored.body.byteLength,
      content_type: stored.content_type,
      updated_at: stored.updated_at,
    };
  }

  function find(runId: string, name: string): StoredArtifact {
    const stored = objects.get(artifactKey(runId, name));
    if (stored === undefined) throw new NotFoundError('Artifact', name);
    return stored;
  }

  return {
    async put(runId, name, body, contentType) {
      const key = artifactKey(runId, name);
      // Copies in and out, so a caller that reuses its buffer cannot change what was stored.
      const bytes = typeof body === 'string' ? new Uint8Array(Buffer.from(body, 'utf8')) : body.slice();
      const stored = {
        body: bytes,
        content_type: contentType ?? defaultContentType(body),
        updated_at: clock.now().toISOString(),
      };
      objects.set(key, stored);
      return info(name, stored);
    },

    async get(runId, name) {
      const stored = find(runId, name);
      return { info: info(name, stored), body: stored.body.slice() };
    },

    async getWithin(runId, name, maxBytes) {
      const stored = find(runId, name);
      const found = info(name, stored);
      return stored.body.byteLength > maxBytes ? { info: found } : { info: found, body: stored.body.slice() };
    },

    async list(runId, page) {
      const prefix = artifactPrefix(runId);
      const limit = pageLimit(page);
      const after =
        page?.cursor === undefined ? undefined : prefix + decodeArtifactCursor(cursors, runId, page.cursor);
      const keys = [...objects.keys()]
        .filter((key) => key.startsWith(prefix) && (after === undefined || compareKeys(key, after) > 0))
        .sort(compareKeys);
      const items = keys.slice(0, limit).map((key) => info(key.slice(prefix.length), objects.get(key)!));
      const result: Page<ArtifactInfo> = { items };
      const last = items.at(-1);
      if (keys.length > limit && last !== undefined)
        result.next_cursor = encodeArtifactCursor(cursors, runId, last.name);
      return result;
    },

    async delete(runId, name) {
      objects.delete(artifactKey(runId, name));
    },

    async copyIn(runId, name, source) {
      const body = options.buckets?.get(source.bucket)?.get(source.key);
      if (body === undefined) throw new NotFoundError('Object', `${source.bucket}/${source.key}`);
      const stored = {
        body: body.slice(),
        content_type: OCTET_STREAM,
        updated_at: clock.now().toISOString(),
      };
      objects.set(artifactKey(runId, name), stored);
      return info(name, stored);
    },

    async url(runId, name, expiresInS) {
      const seconds = urlExpiry(expiresInS);
      find(runId, name);
      const expires = new Date(clock.now().getTime() + seconds * 1000).toISOString();
      const path = artifactKey(runId, name).split('/').map(encodeURIComponent).join('/');
      return `memory://artifacts/${path}?expires=${encodeURIComponent(expires)}`;
    },
  };
}
