/**
 * The storage contract against the DynamoDB adapters on dynalite (in-process), twice: with the
 * default snapshot rule, and with a snapshot every third commit, so reads that cross snapshots and
 * deltas are held to the same answers.
 */
import { useDynalite } from '../../support/stores.js';
import { describeStoreConformance } from './conformance.js';
import { dynamoDbTarget } from './dynamodb-target.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const dynamo = useDynalite();

describeStoreConformance(
  'DynamoDB on dynalite',
  dynamoDbTarget(() => dynamo.endpoint),
);
describeStoreConformance(
  'DynamoDB on dynalite, a snapshot every third commit',
  dynamoDbTarget(() => dynamo.endpoint, { snapshotEvery: 3 }),
);
