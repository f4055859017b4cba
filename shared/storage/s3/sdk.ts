/**
 * The S3 client and the presigner, loaded when first used. Most cold starts never touch S3: an
 * Advance whose values are small, every AwaitSignal, an API call that reads no artifact. Loading
 * them at import would make each of those pay for evaluating the S3 SDK (docs/architecture.md,
 * "What a cold start costs").
 */
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';

/** The module of the S3 client and its commands. */
export type S3Sdk = typeof import('@aws-sdk/client-s3');

/** An S3 client, or how to make one the first time it is needed. */
export type S3ClientSource = S3Client | (() => Promise<S3Client>);

export function loadS3(): Promise<S3Sdk> {
  return import('@aws-sdk/client-s3');
}

export async function loadPresigner(): Promise<typeof import('@aws-sdk/s3-request-presigner')> {
  return import('@aws-sdk/s3-request-presigner');
}

/** A client made on first use and then kept, for one per container. */
export function lazyS3Client(config: S3ClientConfig = {}): () => Promise<S3Client> {
  let client: Promise<S3Client> | undefined;
  return () => {
    client ??= loadS3().then(({ S3Client }) => new S3Client(config));
    return client;
  };
}

/** What an adapter calls: the SDK module and the client, both loaded by the first call. */
export function s3Access(source: S3ClientSource): () => Promise<{ sdk: S3Sdk; client: S3Client }> {
  return async () => {
    const [sdk, client] = await Promise.all([loadS3(), typeof source === 'function' ? source() : source]);
    return { sdk, client };
  };
}
