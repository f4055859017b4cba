/**
 * The web console on AWS: its build (dist/console) in a private S3 bucket, served by CloudFront
 * through origin access control, with `/v1/*` passed to the HTTP API. Console and API then share one
 * origin: no CORS, a CSP of `'self'`, and personal links (`/console/tasks/<token>`) that call
 * `/v1/callbacks/<token>` beside them. `config.json` is written at deploy time with the API's URL.
 */
import { existsSync } from 'node:fs';
import { Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as deployment from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { CONSOLE_CSP } from '../local/console-files.js';
import { acknowledge, acknowledgeWildcardResource } from './nag.js';
import { projectPath } from './paths.js';

export interface ConsoleSiteProps {
  /** The HTTP API's endpoint (`https://<id>.execute-api.<region>.amazonaws.com`). */
  apiEndpoint: string;
  /** The console's build; default dist/console (npm ci and npm run build make it). */
  buildDir?: string;
}

export class ConsoleSite extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly distribution: cloudfront.Distribution;
  /** `https://<distribution domain>`: where people open the console and their links. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    const buildDir = props.buildDir ?? projectPath('dist/console');
    if (!existsSync(buildDir)) {
      throw new Error(`The console is not built (${buildDir}): run npm run build first`);
    }
    this.bucket = new s3.Bucket(this, 'Files', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Only a build lives here: deploying again rewrites it.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Flowrunner console: strict CSP, no framing, no referrer (personal links carry tokens)',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: CONSOLE_CSP, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
      },
    });
    // The API's host name from its endpoint URL (`https://host`).
    const apiDomain = Fn.select(2, Fn.split('/', props.apiEndpoint));
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Flowrunner console and API',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: headers,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        functionAssociations: [
          { function: this.#spaRoutes(), eventType: cloudfront.FunctionEventType.VIEWER_REQUEST },
        ],
      },
      additionalBehaviors: {
        '/v1/*': {
          origin: new origins.HttpOrigin(apiDomain, {
            protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          }),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        },
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
    });
    this.url = `https://${this.distribution.distributionDomainName}`;
    new deployment.BucketDeployment(this, 'Build', {
      destinationBucket: this.bucket,
      destinationKeyPrefix: 'console/',
      sources: [
        deployment.Source.asset(buildDir, { exclude: ['config.json'] }),
        // Read by the console when it starts: the API is on the distribution's own origin.
        deployment.Source.jsonData('config.json', { api_url: this.url }),
      ],
      distribution: this.distribution,
      distributionPaths: ['/console/index.html', '/console/config.json'],
      memoryLimit: 256,
    });

    // BucketDeployment's function is a singleton at the stack's root: its findings are acknowledged there, on it alone.
    for (const child of Stack.of(this).node.children) {
      if (!child.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
      acknowledge(
        child,
        'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "BucketDeployment's own function logs with the AWS-managed basic execution role",
      );
      for (const finding of [
        'Resource::*',
        'Action::s3:GetBucket*',
        'Action::s3:GetObject*',
        'Action::s3:List*',
        'Action::s3:Abort*',
        'Action::s3:DeleteObject*',
      ]) {
        acknowledge(
          child,
          `IAM5[${finding}]`,
          'BucketDeployment copies the build from the CDK asset bucket into the console bucket with the S3 actions CDK grants it',
        );
      }
      // The asset bucket's ARN as this stack writes it: its partition and Region resolve when the stack has an environment.
      const stack = Stack.of(this);
      acknowledgeWildcardResource(
        child,
        `arn:${stack.partition}:s3:::cdk-hnb659fds-assets-${stack.account}-${stack.region}/*`,
        'BucketDeployment reads the build from the CDK asset bucket',
      );
      acknowledgeWildcardResource(
        child,
        this.bucket.arnForObjects('*'),
        'BucketDeployment writes the build into this console bucket only',
      );
      acknowledge(child, 'L1', "BucketDeployment's own function runtime is chosen by aws-cdk-lib");
    }
    acknowledge(this, 'S1', 'The bucket holds only the public console build; CloudFront is its only reader');
    acknowledge(
      this,
      'CFR1',
      'The console is for the operators and approvers of this installation, wherever they are',
    );
    acknowledge(this, 'CFR2', 'WAF is left to the installation: the API behind it authenticates every call');
    acknowledge(
      this,
      'CFR3',
      'Access logs of static files add cost without insight; the API logs every request',
    );
    acknowledge(
      this,
      'CFR4',
      'The default CloudFront certificate is used until a custom domain is configured',
    );
  }

  /** `/console/...` paths that are not files answer with the app (it routes in the browser). */
  #spaRoutes(): cloudfront.Function {
    return new cloudfront.Function(this, 'Routes', {
      comment: 'Flowrunner console: serve index.html for the app routes',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(
        [
          'function handler(event) {',
          '  var uri = event.request.uri;',
          "  if (uri === '/' || uri === '/console') {",
          "    return { statusCode: 308, statusDescription: 'Permanent Redirect', headers: { location: { value: '/console/' } } };",
          '  }',
          "  if (uri.indexOf('/console/') === 0 && uri.indexOf('/console/assets/') !== 0 && uri !== '/console/config.json') {",
          "    event.request.uri = '/console/index.html';",
          '  }',
          '  return event.request;',
          '}',
        ].join('\n'),
      ),
    });
  }
}
