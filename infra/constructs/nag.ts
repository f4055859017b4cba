/** cdk-nag acknowledgements that name exactly the finding they accept, with the reason beside it. */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Accepts one finding of an AWS Solutions rule (`AwsSolutions-L1`, `AwsSolutions-IAM5[Resource::*]`) on `scope` and below. */
export function acknowledge(scope: IConstruct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${rule}`, reason });
}

/**
 * Accepts the IAM5 finding of one wildcard resource, named as cdk-nag names it: the ARN with its
 * unresolved parts as `<AWS::Region>` or `<Logical.Attribute>`, whatever the stack's environment.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  acknowledge(scope, `IAM5[Resource::${nagText(Stack.of(scope).resolve(resource))}]`, reason);
}

/** How cdk-nag writes a resolved CloudFormation value in a finding's id. */
function nagText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const intrinsic = value as Record<string, unknown>;
    if (typeof intrinsic.Ref === 'string') return `<${intrinsic.Ref}>`;
    const getAtt = intrinsic['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
    const join = intrinsic['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map(nagText).join(join[0]);
    }
  }
  return JSON.stringify(value);
}
