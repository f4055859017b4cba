/** The Bedrock model in the cloud: named by a context value, invoked by Advance and the API only, on that model only. */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LambdaEnvironment } from '../../functions/environment.js';
import { BEDROCK_MODEL_CONTEXT, OPENAI_SECRET_CONTEXT } from '../../infra/constructs/bindings.js';
import { addFlowrunner } from '../../infra/stacks/flowrunner.js';
import { appForTests, render as text } from '../support/cdk.js';

function engineWith(context: Record<string, unknown>) {
  const app = appForTests();
  for (const [key, value] of Object.entries(context)) app.node.setContext(key, value);
  const { engine } = addFlowrunner(app);
  // cdk-nag runs at synth: an unacknowledged finding (the profile's wildcard Region) throws here.
  app.synth();
  const template = Template.fromStack(engine);
  const id = (c: { node: { defaultChild?: unknown } }) => engine.getLogicalId(c.node.defaultChild as never);
  return { engine, template, id };
}

function variablesOf(template: Template, roleLogicalId: string): Record<string, unknown> {
  const [fn] = Object.values(
    template.findResources('AWS::Lambda::Function', {
      Properties: { Role: { 'Fn::GetAtt': [roleLogicalId, 'Arn'] } },
    }),
  ) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
  return fn!.Properties.Environment.Variables;
}

interface Statement {
  Action: unknown;
  Resource: unknown;
  Condition?: unknown;
}

/** The role's statements that allow a bedrock action, resolved to plain text where the stack can. */
function bedrockStatements(template: Template, roleLogicalId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
  });
  return Object.values(policies)
    .flatMap(
      (policy) =>
        (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
          .Statement,
    )
    .filter((s) => [s.Action].flat().some((a) => String(a).startsWith('bedrock:')));
}

// Each case synthesizes the whole app with cdk-nag: seconds each, more on a busy machine.
describe('CDK: the Bedrock model', { timeout: 120_000 }, () => {
  it('a foundation model: AI_PROVIDER and BEDROCK_MODEL on Advance and the API, InvokeModel on that model only', () => {
    const { engine, template, id } = engineWith({ [BEDROCK_MODEL_CONTEXT]: 'amazon.nova-lite-v1:0' });
    for (const fn of [engine.runs.advance, engine.httpApi.handler]) {
      const variables = variablesOf(template, id(fn.role));
      expect(variables[LambdaEnvironment.aiProvider]).toBe('bedrock');
      expect(variables[LambdaEnvironment.bedrockModel]).toBe('amazon.nova-lite-v1:0');
      const statements = bedrockStatements(template, id(fn.role));
      expect(statements.map((s) => [s.Action, text(s.Resource)])).toEqual([
        [
          'bedrock:InvokeModel',
          `arn:\${AWS::Partition}:bedrock:\${AWS::Region}::foundation-model/amazon.nova-lite-v1:0`,
        ],
      ]);
    }
    // The other functions' bundles leave the model clients out (externalModulesOf in infra/constructs/bundling.ts).
    for (const fn of [engine.runs.awaitSignal, engine.triggers.function, engine.notifications.retry]) {
      const variables = variablesOf(template, id(fn.role));
      expect(variables).not.toHaveProperty(LambdaEnvironment.aiProvider);
      expect(variables).not.toHaveProperty(LambdaEnvironment.bedrockModel);
      expect(bedrockStatements(template, id(fn.role))).toEqual([]);
    }
  });

  it('an inference profile: the profile, and its model in any Region only through that profile', () => {
    const profile = 'eu.anthropic.claude-haiku-4-5-20251001-v1:0';
    const { engine, template, id } = engineWith({ [BEDROCK_MODEL_CONTEXT]: profile });
    const statements = bedrockStatements(template, id(engine.runs.advance.role));
    const profileArn = `arn:\${AWS::Partition}:bedrock:\${AWS::Region}:\${AWS::AccountId}:inference-profile/${profile}`;
    expect(statements.map((s) => [s.Action, text(s.Resource)])).toEqual([
      ['bedrock:InvokeModel', profileArn],
      [
        'bedrock:InvokeModel',
        `arn:\${AWS::Partition}:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0`,
      ],
    ]);
    const condition = (statements[1]!.Condition as { StringEquals: Record<string, unknown> }).StringEquals;
    expect(text(condition['bedrock:InferenceProfileArn'])).toBe(profileArn);
  });

  it('an ARN is granted as it is', () => {
    const arn = 'arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-pro-v1:0';
    const { engine, template, id } = engineWith({ [BEDROCK_MODEL_CONTEXT]: arn });
    expect(bedrockStatements(template, id(engine.httpApi.handler.role)).map((s) => s.Resource)).toEqual([
      arn,
    ]);
  });

  it('is absent without configuration; refuses a malformed model and two providers at once', () => {
    const { engine, template, id } = engineWith({});
    expect(variablesOf(template, id(engine.runs.advance.role))).not.toHaveProperty(
      LambdaEnvironment.aiProvider,
    );
    expect(bedrockStatements(template, id(engine.runs.advance.role))).toEqual([]);
    expect(() => engineWith({ [BEDROCK_MODEL_CONTEXT]: 'claude *' })).toThrow(/model id/);
    expect(() =>
      engineWith({
        [BEDROCK_MODEL_CONTEXT]: 'amazon.nova-lite-v1:0',
        [OPENAI_SECRET_CONTEXT]:
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:flowrunner/openai-AbC123',
      }),
    ).toThrow(/not both/);
  });
});
