/**
 * RunTrees on DynamoDB (tokens table, `tree#<root run id>`): one counter per tree, raised by a
 * conditional update, so concurrent child starts across Lambda containers never count past the limit.
 * The item expires a year after the tree's last child started.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { RunTrees } from '../../ports/index.js';
import { N, S } from './attributes.js';
import { Table } from './table.js';
import { TTL_ATTRIBUTE } from './tables.js';

const KEEP_S = 365 * 86_400;

export interface DynamoDbRunTreesOptions {
  client: DynamoDBClient;
  table: string;
}

export class DynamoDbRunTrees implements RunTrees {
  readonly #table: Table;

  constructor(options: DynamoDbRunTreesOptions) {
    this.#table = new Table(options.client, options.table);
  }

  async admit(rootRunId: string, limit: number): Promise<boolean> {
    const { applied } = await this.#table.update({
      Key: { pk: S(`tree#${rootRunId}`) },
      UpdateExpression: 'ADD started :one SET #ttl = :forget',
      ConditionExpression: 'attribute_not_exists(started) OR started < :limit',
      ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
      ExpressionAttributeValues: {
        ':one': N(1),
        ':limit': N(limit),
        ':forget': N(Math.ceil(Date.now() / 1000) + KEEP_S),
      },
    });
    return applied;
  }
}
