/**
 * The stateful half: tables, bucket, keys secret and event bus. Everything here is retained when the
 * stack is deleted, and nothing here changes when code is deployed.
 */
import { Aws, Duration, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import {
  defaultTableNames,
  type TableDefinition,
  type TableNames,
  tableDefinitions,
} from '../../shared/storage/dynamodb/tables.js';
import { ANSWER_COPIES_PREFIX } from '../../shared/storage/s3/answer-copies.js';
import { acknowledge } from '../constructs/nag.js';

export interface DataStackProps extends StackProps {
  /** Prefix of every named resource (tables, secret, bus); default `flowrunner`. */
  prefix: string;
}

export class DataStack extends Stack {
  public readonly tables: Record<keyof TableNames, dynamodb.Table>;
  public readonly bucket: s3.Bucket;
  public readonly accessLogsBucket: s3.Bucket;
  /** `{"cursor_key": "...", "token_key": "..."}`, generated at deploy. */
  public readonly keysSecret: secretsmanager.Secret;
  /** The API's keys, as SHA-256 hashes; empty on first deploy, so the API accepts nothing until a key is added. */
  public readonly apiKeysSecret: secretsmanager.Secret;
  public readonly bus: events.EventBus;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);

    const definitions = tableDefinitions(defaultTableNames(props.prefix));
    const tables: Partial<Record<keyof TableNames, dynamodb.Table>> = {};
    for (const definition of definitions) {
      tables[definition.role] = tableFromDefinition(this, definition);
    }
    this.tables = tables as Record<keyof TableNames, dynamodb.Table>;

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // S3 server access logging delivers only to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
    });
    acknowledge(
      this.accessLogsBucket,
      'S1',
      "This bucket receives the data bucket's server access logs; logging it too would need a third bucket, and so on.",
    );

    this.bucket = new s3.Bucket(this, 'Data', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // SSE-S3: presigned URLs handed to users work without granting them kms:Decrypt, and no key to manage.
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      bucketName: dataBucketName(props.prefix),
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'data/',
      removalPolicy: RemovalPolicy.RETAIN,
      // No rule on `runs/*/payloads/`: lifecycle filters match a literal prefix, not a pattern, and a
      // run's history refers to its payloads for as long as the run is kept.
      lifecycleRules: [
        {
          id: 'old-versions-and-uploads',
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
          expiredObjectDeleteMarker: true,
        },
        {
          // Copies of answers too large for a Lambda (functions/api/large-answers.ts): the API
          // redirects to each for five minutes, so a day is plenty, and their old versions go too.
          id: 'answer-copies',
          prefix: ANSWER_COPIES_PREFIX,
          expiration: Duration.days(1),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
      // The console follows the API's redirects to presigned URLs (a large file, a large answer)
      // from its own origin. A presigned URL is the credential; the bucket stays private to everyone
      // without one, so any origin may read what such a URL serves, and nothing else.
      // Any header too: a client that keeps its x-api-key on the redirect must not fail the preflight
      // (S3 reads only the URL's signature).
      cors: [
        { allowedMethods: [s3.HttpMethods.GET], allowedOrigins: ['*'], allowedHeaders: ['*'], maxAge: 300 },
      ],
    });

    // One generateSecretString makes one random value, and the functions read both keys from one
    // secret: two generated seeds, composed by CloudFormation dynamic references (never in the template).
    const seed = (id: string, description: string) =>
      new secretsmanager.Secret(this, id, {
        description,
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy: RemovalPolicy.RETAIN,
      });
    const cursorKey = seed('CursorKeySeed', 'Flowrunner: the seed of cursor_key in the keys secret');
    const tokenKey = seed('TokenKeySeed', 'Flowrunner: the seed of token_key in the keys secret');
    this.keysSecret = new secretsmanager.Secret(this, 'Keys', {
      // Not under `flowrunner/`: that prefix is what workflows may read as `{{ secrets.* }}`.
      secretName: `${props.prefix}-keys`,
      description: 'Flowrunner signing keys: cursor_key (paging cursors) and token_key (callback tokens)',
      secretObjectValue: { cursor_key: cursorKey.secretValue, token_key: tokenKey.secretValue },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const secret of [cursorKey, tokenKey, this.keysSecret]) {
      acknowledge(
        secret,
        'SMG4',
        'The keys sign paging cursors and callback tokens that users hold for days; rotating them on a ' +
          'schedule would invalidate every outstanding link. Rotation is manual and documented (docs/deploy.md).',
      );
    }

    this.apiKeysSecret = new secretsmanager.Secret(this, 'ApiKeys', {
      secretName: `${props.prefix}-api-keys`,
      description: 'Flowrunner API keys: {"hashes": ["<sha256 hex of a key>", ...]} (see docs/deploy.md)',
      // No key material: an empty list, so the API is closed until an operator adds a key's hash.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ hashes: [] })),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.apiKeysSecret,
      'SMG4',
      'It holds hashes of API keys that clients are given; keys are rotated by adding a new hash and removing ' +
        'the old one once clients moved (docs/deploy.md), not by a schedule that would lock clients out.',
    );

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: eventBusName(props.prefix) });
  }
}

/** The data bucket's name: fixed per prefix, account and region, so the engine stack names it without an export. */
export function dataBucketName(prefix: string): string {
  return `${prefix}-data-${Aws.ACCOUNT_ID}-${Aws.REGION}`;
}

/** The project's event bus (`POST /v1/events`): named by the prefix, so the engine stack names it without an export. */
export function eventBusName(prefix: string): string {
  return `${prefix}-events`;
}

/** A CDK table with exactly the keys, indexes and TTL of the adapters' definition (shared/storage/dynamodb/tables.ts). */
function tableFromDefinition(scope: Construct, definition: TableDefinition): dynamodb.Table {
  const create = definition.create;
  const attribute = (name: string): dynamodb.Attribute => {
    const type = create.AttributeDefinitions?.find((a) => a.AttributeName === name)?.AttributeType;
    if (!type) throw new Error(`table ${create.TableName}: key attribute '${name}' has no definition`);
    return { name, type: type as dynamodb.AttributeType };
  };
  const keys = (schema: { AttributeName?: string; KeyType?: string }[] | undefined) => {
    const hash = schema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
    const range = schema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
    if (!hash) throw new Error(`table ${create.TableName}: a key schema has no HASH key`);
    return { partitionKey: attribute(hash), ...(range ? { sortKey: attribute(range) } : {}) };
  };
  if (create.BillingMode !== 'PAY_PER_REQUEST') {
    throw new Error(
      `table ${create.TableName}: only on-demand tables are designed, got ${create.BillingMode}`,
    );
  }

  const id = `${definition.role[0]!.toUpperCase()}${definition.role.slice(1)}Table`;
  const table = new dynamodb.Table(scope, id, {
    tableName: create.TableName,
    ...keys(create.KeySchema),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    // The aws/dynamodb key: use is visible in CloudTrail, yet no key policy to keep and no kms:* grants.
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    ...(definition.ttlAttribute ? { timeToLiveAttribute: definition.ttlAttribute } : {}),
  });
  for (const index of create.GlobalSecondaryIndexes ?? []) {
    const projection = index.Projection?.ProjectionType ?? 'ALL';
    table.addGlobalSecondaryIndex({
      indexName: index.IndexName!,
      ...keys(index.KeySchema),
      projectionType: projection as dynamodb.ProjectionType,
      ...(projection === 'INCLUDE' ? { nonKeyAttributes: index.Projection?.NonKeyAttributes ?? [] } : {}),
    });
  }
  return table;
}
