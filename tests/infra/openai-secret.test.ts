/** The OpenAI key's secret in the cloud: named by a context value, read by Advance and the API only, on that ARN only. */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LambdaEnvironment } from '../../functions/environment.js';
import { OPENAI_SECRET_CONTEXT } from '../../infra/constructs/bindings.js';
import { addFlowrunner } from '../../infra/stacks/flowrunner.js';
import { appForTests } from '../support/cdk.js';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:flowrunner/openai-api-key-AbC123';

function engineWith(context: Record<string, unknown>) {
  const app = appForTests();
  for (const [key, value] of Object.entries(context)) app.node.setContext(key, value);
  const { engine } = addFlowrunner(app);
  // cdk-nag runs at synth: an unacknowledged finding throws here.
  app.synth();
  return { engine, template: Template.fromStack(engine) };
}

function variablesOf(template: Template, roleLogicalId: string): Record<string, unknown> {
  const [fn] = Object.values(
    template.findResources('AWS::Lambda::Function', {
      Properties: { Role: { 'Fn::GetAtt': [roleLogicalId, 'Arn'] } },
    }),
  ) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
  return fn!.Properties.Environment.Variables;
}

function grantsOn(template: Template, roleLogicalId: string, arn: string): unknown[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
  });
  return Object.values(policies).flatMap((policy) =>
    (
      policy as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }
    ).Properties.PolicyDocument.Statement.filter((s) => [s.Resource].flat().includes(arn)).map(
      (s) => s.Action,
    ),
  );
}

// Each case synthesizes the whole app with cdk-nag: seconds each, more on a busy machine.
describe('CDK: the OpenAI secret', { timeout: 120_000 }, () => {
  it('gives Advance and the API its ARN and GetSecretValue on it alone, the other functions nothing; cdk-nag stays clean', () => {
    const { engine, template } = engineWith({ [OPENAI_SECRET_CONTEXT]: ARN });
    const id = (c: { node: { defaultChild?: unknown } }) => engine.getLogicalId(c.node.defaultChild as never);
    for (const fn of [engine.runs.advance, engine.httpApi.handler]) {
      expect(variablesOf(template, id(fn.role))[LambdaEnvironment.openAiSecretArn]).toBe(ARN);
      expect(grantsOn(template, id(fn.role), ARN)).toEqual(['secretsmanager:GetSecretValue']);
    }
    // The other functions' bundles leave the model clients out (externalModulesOf in infra/constructs/bundling.ts).
    for (const fn of [engine.runs.awaitSignal, engine.triggers.function, engine.notifications.retry]) {
      expect(variablesOf(template, id(fn.role))).not.toHaveProperty(LambdaEnvironment.openAiSecretArn);
      expect(grantsOn(template, id(fn.role), ARN)).toEqual([]);
    }
  });

  it('is absent without configuration, and refuses an ARN that is not a complete secret ARN', () => {
    const { engine, template } = engineWith({});
    const role = engine.getLogicalId(engine.runs.advance.role.node.defaultChild as never);
    expect(variablesOf(template, role)).not.toHaveProperty(LambdaEnvironment.openAiSecretArn);
    expect(() => engineWith({ [OPENAI_SECRET_CONTEXT]: 'flowrunner/openai-api-key' })).toThrow(
      /complete ARN/,
    );
    expect(() =>
      engineWith({ [OPENAI_SECRET_CONTEXT]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai*' }),
    ).toThrow(/complete ARN/);
  });
});
