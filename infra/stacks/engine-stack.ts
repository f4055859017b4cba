/**
 * The stateless half: the state machine that carries every run with its functions, the HTTP API, and
 * their alarms. It can be deleted and deployed again at will; the runs live in the data stack.
 */
import { type CfnElement, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct, IConstruct } from 'constructs';
import type { TableNames } from '../../shared/storage/dynamodb/tables.js';
import { Alarms } from '../constructs/alarms.js';
import { ConsoleSite } from '../constructs/console.js';
import { Dashboard } from '../constructs/dashboard.js';
import { DataReferences } from '../constructs/data-references.js';
import { HttpApi } from '../constructs/http-api.js';
import { logicalIdWithout } from '../constructs/logical-ids.js';
import {
  bindMail,
  bindPublicUrl,
  type MailSettings,
  mailSettingsOf,
  Notifications,
} from '../constructs/notifications.js';
import { RunStateMachine } from '../constructs/run-state-machine.js';
import { bindObservability, type TracingOptions } from '../constructs/tracing.js';
import { Triggers } from '../constructs/triggers.js';
import { eventBusName } from './data-stack.js';

export interface EngineStackProps extends StackProps {
  prefix: string;
  /** The data stack's tables and bucket, by name (see DataReferences). */
  tableNames: TableNames;
  bucketName: string;
  keysSecret: secretsmanager.ISecret;
  apiKeysSecret: secretsmanager.ISecret;
  /** Where workflows' `{{ secrets.NAME }}` live in Secrets Manager; default `flowrunner/`. */
  secretPrefix?: string;
  /** Buckets whose uploads fire `s3` listeners; default the context value `flowrunner:trigger-buckets`. */
  triggerBuckets?: string[];
  /** Traces (an OTLP endpoint, the ADOT collector layer) and who hears of alarms (docs/observability.md). */
  observability?: { tracing?: TracingOptions; alarmEmails?: readonly string[] };
  /** Notification mail through SES; default from the context (`flowrunner:mail-from`, `flowrunner:ses-identity`). */
  mail?: MailSettings;
  /** The console's build (default dist/console). */
  consoleBuildDir?: string;
}

export class EngineStack extends Stack {
  public readonly runs: RunStateMachine;
  public readonly httpApi: HttpApi;
  public readonly triggers: Triggers;
  public readonly alarms: Alarms;
  public readonly dashboard: Dashboard;
  public readonly console: ConsoleSite;
  public readonly notifications: Notifications;
  /** The constructs whose ids stay out of logical ids (see allocateLogicalId). */
  private readonly parts = new Set<IConstruct>();

  constructor(scope: Construct, id: string, props: EngineStackProps) {
    super(scope, id, props);
    const secretPrefix = props.secretPrefix ?? 'flowrunner/';
    const { tables, bucket } = new DataReferences(this, 'Data', {
      tableNames: props.tableNames,
      bucketName: props.bucketName,
    });

    this.runs = this.part(
      new RunStateMachine(this, 'Runs', {
        prefix: props.prefix,
        tables,
        bucket,
        keysSecret: props.keysSecret,
        secretPrefix,
      }),
    );
    this.httpApi = this.part(
      new HttpApi(this, 'HttpApi', {
        prefix: props.prefix,
        tables,
        bucket,
        keysSecret: props.keysSecret,
        apiKeysSecret: props.apiKeysSecret,
        secretPrefix,
        stateMachineArn: this.runs.stateMachineArn,
      }),
    );
    this.triggers = this.part(
      new Triggers(this, 'Triggers', {
        prefix: props.prefix,
        tables,
        bucket,
        keysSecret: props.keysSecret,
        stateMachineArn: this.runs.stateMachineArn,
        eventBusName: eventBusName(props.prefix),
        api: this.httpApi.handler,
        ...(props.triggerBuckets ? { triggerBuckets: props.triggerBuckets } : {}),
      }),
    );
    // The console, with the API behind the same CloudFront origin; people's links point at it.
    this.console = new ConsoleSite(this, 'Console', {
      apiEndpoint: this.httpApi.api.apiEndpoint,
      ...(props.consoleBuildDir ? { buildDir: props.consoleBuildDir } : {}),
    });
    const mail = props.mail ?? mailSettingsOf(this);
    this.notifications = new Notifications(this, 'Notifications', {
      tables,
      bucket,
      keysSecret: props.keysSecret,
      stateMachineArn: this.runs.stateMachineArn,
      mail,
      publicUrl: this.console.url,
    });
    // Forms and approvals notify their people from Advance, as their wait opens.
    bindMail(this.runs.advance, mail);
    bindPublicUrl(this.runs.advance, this.console.url);
    this.alarms = this.part(
      new Alarms(this, 'Alarms', {
        stateMachine: this.runs.stateMachine,
        functions: {
          Advance: this.runs.advance,
          AwaitSignal: this.runs.awaitSignal,
          Trigger: this.triggers.function,
        },
        service: props.prefix,
        ...(props.observability?.alarmEmails ? { emails: props.observability.alarmEmails } : {}),
      }),
    );
    this.alarms.watch(this.triggers.deadLetterAlarm);
    // Observability: metrics (EMF) and traces settings of every function, and the dashboard.
    const functions = {
      Advance: this.runs.advance,
      AwaitSignal: this.runs.awaitSignal,
      Api: this.httpApi.handler,
      Trigger: this.triggers.function,
      NotificationsRetry: this.notifications.retry,
    };
    for (const fn of Object.values(functions)) {
      bindObservability(fn, props.prefix, props.observability?.tracing);
    }
    this.dashboard = new Dashboard(this, 'Dashboard', {
      service: props.prefix,
      stateMachine: this.runs.stateMachine,
      functions,
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.httpApi.api.apiEndpoint,
      description: 'The Flowrunner HTTP API',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.alarms.topic.topicArn,
      description: 'Subscribe to this SNS topic to hear of alarms',
    });
    new CfnOutput(this, 'ConsoleUrl', {
      value: `${this.console.url}/console/`,
      description: 'The Flowrunner console (and the API under /v1 on the same origin)',
    });
    new CfnOutput(this, 'StateMachineArn', {
      value: this.runs.stateMachine.stateMachineArn,
      description: 'The state machine that carries every run',
    });
  }

  /**
   * Logical ids as they were before the parts existed, when every resource was a child of the stack:
   * a new logical id replaces the resource, and the machine and its log group have fixed names (the
   * replacement would fail), parked runs hold the functions' ARNs, and clients hold the API's URL.
   */
  protected override allocateLogicalId(element: CfnElement): string {
    return logicalIdWithout(element, (scope) => this.parts.has(scope));
  }

  private part<T extends IConstruct>(construct: T): T {
    this.parts.add(construct);
    return construct;
  }
}
