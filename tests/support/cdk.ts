/** The CDK app as tests build it, and CloudFormation values read back as text. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { projectPath } from '../../infra/constructs/paths.js';

type Json = Record<string, unknown>;

/** The context of cdk.json (feature flags), so the tests build what `cdk synth` builds; bundling skipped. */
export function appForTests(): App {
  const { context } = JSON.parse(readFileSync(projectPath('cdk.json'), 'utf8')) as { context: Json };
  return new App({
    outdir: mkdtempSync(join(tmpdir(), 'flowrunner-cdk-')),
    context: { ...context, 'aws:cdk:bundling-stacks': [] },
  });
}

/** A resolved CloudFormation value as text: `${Logical.Arn}` for a GetAtt, `${AWS::Region}` for a Ref, joins joined. */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const intrinsic = value as Json;
  if (typeof intrinsic.Ref === 'string') return `\${${intrinsic.Ref}}`;
  const getAtt = intrinsic['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `\${${getAtt.join('.')}}`;
  const join = intrinsic['Fn::Join'] as [string, unknown[]] | undefined;
  if (join) return join[1].map(render).join(join[0]);
  if (typeof intrinsic['Fn::ImportValue'] === 'string') return `\${import:${intrinsic['Fn::ImportValue']}}`;
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** One statement of a role's policies: its actions and resources as text, and its condition. */
export interface RoleStatement {
  actions: string[];
  resources: string[];
  condition?: unknown;
}

/** Every Allow statement of the policies attached to a role, resources rendered (see `render`). */
export function statementsOf(
  template: { findResources(type: string, props?: unknown): Record<string, unknown> },
  roleLogicalId: string,
): RoleStatement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: {
      Roles: { Ref: string }[];
      PolicyDocument: { Statement: { Action: unknown; Resource: unknown; Condition?: unknown }[] };
    };
  }[];
  return policies
    .filter((policy) => policy.Properties.Roles.some((role) => role.Ref === roleLogicalId))
    .flatMap((policy) =>
      policy.Properties.PolicyDocument.Statement.map((statement) => ({
        actions: [statement.Action].flat() as string[],
        resources: [statement.Resource].flat().map(render),
        ...(statement.Condition === undefined ? {} : { condition: statement.Condition }),
      })),
    );
}
