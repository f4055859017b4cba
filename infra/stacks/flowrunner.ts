/** The whole app in one call: the stateful and the stateless stack, and cdk-nag's AWS Solutions checks. */
import { type App, type Environment, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { defaultTableNames } from '../../shared/storage/dynamodb/tables.js';
import { DataStack, dataBucketName } from './data-stack.js';
import { EngineStack, type EngineStackProps } from './engine-stack.js';

export interface FlowrunnerOptions {
  /** Prefix of every named resource (default `flowrunner`): two prefixes, two installations per account. */
  prefix?: string;
  env?: Environment;
  /** Run cdk-nag (default true). */
  checks?: boolean;
  /** Traces and alarm subscribers (EngineStackProps.observability). */
  observability?: EngineStackProps['observability'];
}

export function addFlowrunner(app: App, options: FlowrunnerOptions = {}) {
  const prefix = options.prefix ?? 'flowrunner';
  const stackName = (part: string) =>
    `${prefix.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}${part}`;
  const env = options.env;

  const data = new DataStack(app, stackName('Data'), {
    prefix,
    description: 'Flowrunner: tables, bucket, keys secret and event bus (retained on delete)',
    ...(env ? { env } : {}),
  });
  const engine = new EngineStack(app, stackName('Engine'), {
    prefix,
    description: 'Flowrunner: functions, state machine and alarms',
    tableNames: defaultTableNames(prefix),
    bucketName: dataBucketName(prefix),
    keysSecret: data.keysSecret,
    apiKeysSecret: data.apiKeysSecret,
    ...(options.observability ? { observability: options.observability } : {}),
    ...(env ? { env } : {}),
  });
  engine.addStackDependency(data);
  Tags.of(app).add('app', 'flowrunner');
  Tags.of(app).add('flowrunner:prefix', prefix);

  if (options.checks ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { data, engine };
}
