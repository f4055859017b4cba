/**
 * The storage contract against the DynamoDB adapters on dynalite (in-process), twice: with the
 * default journal, and with a journal that moves to a chunk item on every commit, so both ways of
 * reading events and history are held to the same answers.
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
  'DynamoDB on dynalite, journal flushed on every commit',
  dynamoDbTarget(() => dynamo.endpoint, { journalFlushBytes: 1 }),
);
