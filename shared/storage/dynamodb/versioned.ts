/** What the versioned definitions on DynamoDB (workflows, prompt templates) read alike. */
import { NotFoundError } from '../../errors.js';

/**
 * The given version, or the latest when none is given; a version that is no whole number from 1 is
 * simply not there. NotFoundError names the kind and what was asked for.
 */
export async function readVersion<T>(
  kind: string,
  id: string,
  version: number | undefined,
  read: { latest(): Promise<T | undefined>; exact(version: number): Promise<T | undefined> },
): Promise<T> {
  const found =
    version === undefined
      ? await read.latest()
      : Number.isSafeInteger(version) && version >= 1
        ? await read.exact(version)
        : undefined;
  if (!found) throw new NotFoundError(kind, version === undefined ? id : `${id} v${version}`);
  return found;
}
