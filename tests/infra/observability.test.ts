// The CDK side of observability: alarms that reach an encrypted SNS topic, the dashboard of the run
// metrics, and the functions' traces settings (OTLP endpoint, the optional ADOT collector layer).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineStack } from '../../infra/stacks/engine-stack.js';
import { addFlowrunner } from '../../infra/stacks/flowrunner.js';
import { METRICS } from '../../shared/observability/metric-names.js';
import { appForTests } from '../support/cdk.js';

const LAYER = 'arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-collector-arm64-ver-0-117-0:1';

type Json = Record<string, unknown>;

/** Flowrunner's own functions (they have its settings), not CDK's helpers (bucket deployment, auto-delete). */
function functionsOf(template: Template): Json[] {
  return Object.values(template.findResources('AWS::Lambda::Function'))
    .map((f) => (f as { Properties: Json }).Properties)
    .filter((fn) => Object.keys(envOf(fn)).some((name) => name.startsWith('FLOWRUNNER_')));
}

function envOf(fn: Json): Record<string, unknown> {
  return ((fn.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<
    string,
    unknown
  >;
}

describe('observability in the CDK app', () => {
  let traced: EngineStack;
  let plain: EngineStack;
  let template: Template;
  let outdir: string;

  beforeAll(() => {
    const app = appForTests();
    ({ engine: traced } = addFlowrunner(app, {
      observability: { tracing: { collectorLayerArn: LAYER }, alarmEmails: ['ops@example.com'] },
    }));
    ({ engine: plain } = addFlowrunner(app, { prefix: 'plain' }));
    app.synth();
    outdir = app.outdir;
    template = Template.fromStack(traced);
  });

  it('passes cdk-nag with the topic, its key and the dashboard', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
    };
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(nag?.violations).toEqual([]);
    expect(nag?.conclusion).toBe('success');
  });

  it('sends every alarm and its return to OK to the topic', () => {
    const topic = Stack.of(traced).getLogicalId(traced.alarms.topic.node.defaultChild as never);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => (a as { Properties: Json }).Properties,
    );
    expect(alarms.length).toBe(traced.alarms.all.length);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions, String(alarm.AlarmDescription)).toEqual([{ Ref: topic }]);
      expect(alarm.OKActions).toEqual([{ Ref: topic }]);
    }
    expect(alarms.map((a) => a.AlarmDescription)).toContain('Flowrunner runs failed');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Flowrunner',
      MetricName: 'runs_ended',
      Dimensions: Match.arrayWith([
        { Name: 'service', Value: 'flowrunner' },
        { Name: 'status', Value: 'failed' },
      ]),
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('encrypts the topic with a rotated key CloudWatch may use, and refuses plain HTTP', () => {
    const key = Stack.of(traced).getLogicalId(traced.alarms.topicKey.node.defaultChild as never);
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('puts every run metric on the dashboard', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')).map(
      (d) => (d as { Properties: Json }).Properties,
    );
    expect(dashboard!.DashboardName).toBe('flowrunner-runs');
    const body = JSON.stringify(dashboard!.DashboardBody);
    for (const name of Object.keys(METRICS)) expect(body, name).toContain(name);
  });

  it('gives every function the EMF namespace, the OTLP endpoint and the collector layer', () => {
    const functions = functionsOf(template);
    expect(functions.length).toBeGreaterThanOrEqual(3);
    for (const fn of functions) {
      expect(envOf(fn)).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'flowrunner',
        POWERTOOLS_METRICS_NAMESPACE: 'Flowrunner',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_SERVICE_NAME: 'flowrunner',
      });
      expect(fn.Layers).toEqual([LAYER]);
    }
  });

  it('exports no spans and adds no layer unless asked', () => {
    for (const fn of functionsOf(Template.fromStack(plain))) {
      expect(envOf(fn).POWERTOOLS_METRICS_NAMESPACE).toBe('Flowrunner');
      expect(envOf(fn).OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
      expect(fn.Layers).toBeUndefined();
    }
  });
});
