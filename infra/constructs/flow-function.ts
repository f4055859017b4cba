/** The one way Flowrunner builds a Lambda function: Node 22 on ARM64, an ESM bundle with source maps, its own log group. */

import { join } from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BUNDLING, externalModulesOf, FUNCTION_NODE_OPTIONS } from './bundling.js';
import { acknowledge } from './nag.js';
import { projectPath } from './paths.js';

export interface FlowFunctionProps {
  /** The handler module, relative to the repository root (`functions/advance.ts`); it exports `handler`. */
  entry: string;
  description: string;
  timeout: Duration;
  memorySize: number;
  /** How long the function's logs are kept (default one month). */
  logRetention?: logs.RetentionDays;
  /**
   * Files (relative to the repository root) copied beside the bundle, for code that reads them at
   * run time rather than importing them: only the function that needs one carries it.
   */
  assets?: string[];
}

/**
 * A NodejsFunction bundled locally by esbuild (no Docker). Its role is its own and starts empty:
 * it may write to its log group only; everything else comes from the `bind…` helpers.
 */
export class FlowFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  /** The files the bundle carries beside its code (`assets`). */
  public readonly assets: readonly string[];

  constructor(scope: Construct, id: string, props: FlowFunctionProps) {
    super(scope, id);
    this.assets = props.assets ?? [];

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      // The function's logs expire anyway; with the stateless stack gone they only clutter the account.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Not AWSLambdaBasicExecutionRole: that one may write to every log group of the account.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: projectPath(props.entry),
      handler: 'handler',
      projectRoot: projectPath('.'),
      depsLockFilePath: projectPath('package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      // Everything else comes from the bind helpers.
      environment: { NODE_OPTIONS: FUNCTION_NODE_OPTIONS },
      bundling: {
        // infra/constructs/bundling.ts: the same options the cold-start benchmark builds with.
        format: OutputFormat.ESM,
        target: BUNDLING.target,
        platform: BUNDLING.platform,
        mainFields: [...BUNDLING.mainFields],
        externalModules: [...externalModulesOf(props.entry)],
        sourceMap: BUNDLING.sourcemap,
        sourcesContent: BUNDLING.sourcesContent,
        minify: BUNDLING.minify,
        banner: BUNDLING.banner,
        forceDockerBundling: false,
        ...(props.assets?.length ? { commandHooks: copyBesideBundle(props.assets) } : {}),
      },
    });

    // Every function is traced and on Node 22: the findings those two choices raise are accepted once, here.
    acknowledge(
      this,
      'IAM5[Resource::*]',
      'xray:PutTraceSegments and xray:PutTelemetryRecords for active tracing: X-Ray accepts no resource but "*".',
    );
    acknowledge(
      this,
      'L1',
      'Node 22 on purpose: the handlers are bundled for node22 (esbuild target) and typed against @types/node 22; ' +
        'moving to Node 24 is a tested change of its own, not a side effect of a CDK upgrade.',
    );
  }

  /** Sets one environment variable of the function. */
  addEnvironment(name: string, value: string): void {
    this.function.addEnvironment(name, value);
  }

  /** Adds one statement to the function's role. */
  addToRolePolicy(statement: iam.PolicyStatement): void {
    this.role.addToPolicy(statement);
  }
}

/** esbuild runs on this machine (no Docker): the hook's commands run in its shell after bundling. */
function copyBesideBundle(assets: readonly string[]) {
  const quote = (path: string) => `'${path.replaceAll("'", "'\\''")}'`;
  return {
    beforeBundling: (): string[] => [],
    beforeInstall: (): string[] => [],
    afterBundling: (inputDir: string, outputDir: string): string[] =>
      assets.map((file) => `cp ${quote(join(inputDir, file))} ${quote(outputDir)}`),
  };
}
