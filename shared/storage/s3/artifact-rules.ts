/**
 * The rules every ArtifactStore adapter applies (S3 and in-memory import them, so both accept and
 * refuse the same names and keys, and page alike): artifact names, the S3 key layout, cursors.
 */
import { ValidationError } from '../../errors.js';
import { type CursorCodec, positionString } from '../cursor.js';

export const MAX_ARTIFACT_NAME_BYTES = 256;
/** File systems allow 255 bytes per file name; artifacts get downloaded, and the local S3 keeps them as files. */
export const MAX_ARTIFACT_SEGMENT_BYTES = 200;
export const DEFAULT_URL_EXPIRY_S = 900;
/** SigV4 presigned URLs live at most seven days. */
export const MAX_URL_EXPIRY_S = 7 * 24 * 3600;
export const OCTET_STREAM = 'application/octet-stream';
export const TEXT_PLAIN = 'text/plain; charset=utf-8';

// Run ids are URL-safe (`Ids.next`); refusing everything else keeps `/` and `..` out of the key.
const RUN_ID = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,127}$/;
// C0 and C1 control characters: invisible in listings and logs, and some break HTTP headers.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function invalid(field: string, message: string): ValidationError {
  return new ValidationError(message, [{ path: field, message }]);
}

export function validateRunId(runId: string): void {
  if (!RUN_ID.test(runId)) {
    throw invalid(
      'run_id',
      `run id ${JSON.stringify(runId)} is not valid: use letters, digits, '_', '-', '.', '~'`,
    );
  }
}

/** Throws a ValidationError that names the rule an artifact name breaks. */
export function validateArtifactName(name: string): void {
  const rule = brokenRule(name);
  if (rule !== undefined)
    throw invalid('name', `artifact name ${JSON.stringify(name)} is not valid: ${rule}`);
}

function brokenRule(name: string): string | undefined {
  if (name.length === 0) return 'it must not be empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_ARTIFACT_NAME_BYTES) {
    return `it must be at most ${MAX_ARTIFACT_NAME_BYTES} bytes long in UTF-8`;
  }
  if (CONTROL.test(name)) return 'it must not contain control characters';
  // S3 keys are UTF-8: a lone surrogate would be stored as U+FFFD and listed under another name.
  if (/\p{Cs}/u.test(name)) return 'it must be valid Unicode (no lone surrogates)';
  if (name.includes('\\')) return "it must not contain backslashes (use '/' between folders)";
  if (name.startsWith('/')) return "it must be relative: no leading '/'";
  if (/^[A-Za-z]:/.test(name)) return 'it must be relative: no drive letter';
  const segments = name.split('/');
  if (segments.includes('..')) return "it must not contain '..' segments";
  if (segments.includes('.')) return "it must not contain '.' segments";
  // `a//b` and a trailing `/` make keys that look like folders in every S3 browser.
  if (segments.includes('')) return "it must not contain empty segments ('//' or a trailing '/')";
  if (segments.some((segment) => Buffer.byteLength(segment, 'utf8') > MAX_ARTIFACT_SEGMENT_BYTES)) {
    return `each part between '/' must be at most ${MAX_ARTIFACT_SEGMENT_BYTES} bytes long in UTF-8`;
  }
  return undefined;
}

export function artifactPrefix(runId: string): string {
  validateRunId(runId);
  return `runs/${runId}/artifacts/`;
}

export function artifactKey(runId: string, name: string): string {
  const prefix = artifactPrefix(runId);
  validateArtifactName(name);
  return prefix + name;
}

export function urlExpiry(expiresInS: number | undefined): number {
  const seconds = expiresInS ?? DEFAULT_URL_EXPIRY_S;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_URL_EXPIRY_S) {
    throw invalid('expires_in_s', `expiresInS must be an integer from 1 to ${MAX_URL_EXPIRY_S} (seven days)`);
  }
  return seconds;
}

export function defaultContentType(body: Uint8Array | string): string {
  return typeof body === 'string' ? TEXT_PLAIN : OCTET_STREAM;
}

/** S3 lists keys in UTF-8 byte order; the in-memory store sorts the same way. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A list cursor holds the last name of its page, signed for this run's artifacts only. */
export function encodeArtifactCursor(cursors: CursorCodec, runId: string, afterName: string): string {
  return cursors.encode(['artifacts', runId], { after: afterName });
}

export function decodeArtifactCursor(cursors: CursorCodec, runId: string, cursor: string): string {
  return positionString(cursors.decode(['artifacts', runId], cursor), 'after');
}
