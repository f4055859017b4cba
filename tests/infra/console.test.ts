/**
 * CDK: the console on S3 + CloudFront (origin access control, the API under /v1 on the same origin,
 * strict headers, the build and its config.json), and people's notifications (ses:SendEmail on the
 * configured identity alone, the public URL for links, a retry function every minute). cdk-nag runs.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LambdaEnvironment } from '../../functions/environment.js';
import { MAIL_CONTEXT } from '../../infra/constructs/notifications.js';
import { addFlowrunner } from '../../infra/stacks/flowrunner.js';
import { appForTests } from '../support/cdk.js';

function engineWith(context: Record<string, unknown> = {}) {
  const app = appForTests();
  for (const [key, value] of Object.entries(context)) app.node.setContext(key, value);
  const { engine } = addFlowrunner(app);
  app.synth(); // cdk-nag: an unacknowledged finding throws here
  return Template.fromStack(engine);
}

type Statement = { Action: string | string[]; Resource: unknown };

function statements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
        .Statement,
  );
}

describe('CDK: the console and notifications', () => {
  const template = engineWith({
    [MAIL_CONTEXT.from]: 'Flowrunner <flow@example.com>',
    [MAIL_CONTEXT.identity]: 'example.com',
  });

  it('keeps the build in a private bucket that CloudFront reads through origin access control', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' }),
        ]),
      },
    });
  });

  it('serves the API under /v1 from the same origin, uncached, and the console with a strict CSP', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        CacheBehaviors: [Match.objectLike({ PathPattern: '/v1/*', ViewerProtocolPolicy: 'https-only' })],
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
      }),
    });
    const [policy] = Object.values(
      template.findResources('AWS::CloudFront::ResponseHeadersPolicy'),
    ) as Array<{
      Properties: {
        ResponseHeadersPolicyConfig: { SecurityHeadersConfig: Record<string, Record<string, unknown>> };
      };
    }>;
    const security = policy!.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    expect(security.ContentSecurityPolicy!.ContentSecurityPolicy).toContain("script-src 'self'");
    expect(security.ContentSecurityPolicy!.ContentSecurityPolicy).toContain("frame-ancestors 'none'");
    expect(security.ReferrerPolicy!.ReferrerPolicy).toBe('no-referrer');
  });

  it('deploys the build and a config.json naming the API, under console/', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketKeyPrefix: 'console/',
      SourceMarkers: Match.arrayWith([Match.objectLike({ '<<marker:0xbaba:0>>': Match.anyValue() })]),
      DistributionPaths: ['/console/index.html', '/console/config.json'],
    });
  });

  it('lets Advance and the retry function send mail from the one identity, and nothing else send mail', () => {
    const ses = statements(template).filter((s) => [s.Action].flat().some((a) => a.startsWith('ses:')));
    expect(ses.length).toBe(2);
    for (const statement of ses) {
      expect(statement.Action).toBe('ses:SendEmail');
      expect(JSON.stringify(statement.Resource)).toContain(':identity/example.com');
      expect(JSON.stringify(statement.Resource)).not.toContain('*');
    }
    const mailers = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) =>
        (fn as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties
          .Environment?.Variables?.[LambdaEnvironment.mailFrom] === 'Flowrunner <flow@example.com>',
    );
    expect(mailers).toHaveLength(2);
  });

  it('gives the functions that make links the console URL, and retries notifications every minute', () => {
    const withUrl = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) =>
        (fn as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties
          .Environment?.Variables?.[LambdaEnvironment.publicUrl] !== undefined,
    );
    expect(withUrl).toHaveLength(2);
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it('grants no mail without a configured identity', () => {
    const plain = engineWith();
    expect(statements(plain).some((s) => [s.Action].flat().some((a) => a.startsWith('ses:')))).toBe(false);
  });
});
