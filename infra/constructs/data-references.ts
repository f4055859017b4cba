/**
 * The data stack's tables and bucket, referenced by their names, not by export: the names are fixed
 * by the prefix, so the data stack exports nothing for them and stays free to change.
 */
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { type TableNames, tableDefinitions } from '../../shared/storage/dynamodb/tables.js';
import type { DataTables } from './bindings.js';

export interface DataReferencesProps {
  tableNames: TableNames;
  bucketName: string;
}

export class DataReferences extends Construct {
  public readonly tables: DataTables;
  public readonly bucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: DataReferencesProps) {
    super(scope, id);
    const tables = {} as DataTables;
    for (const { role, create } of tableDefinitions(props.tableNames)) {
      tables[role] = dynamodb.Table.fromTableAttributes(this, `${role}-table`, {
        tableName: create.TableName,
        // Named so that Query grants cover the indexes (`table/<name>/index/*`).
        globalIndexes: (create.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName!),
      });
    }
    this.tables = tables;
    this.bucket = s3.Bucket.fromBucketName(this, 'data-bucket', props.bucketName);
  }
}
