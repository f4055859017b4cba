/** The CDK app (`cdk.json` runs it with tsx): `npx cdk synth`, `npm run deploy`. */
import { App } from 'aws-cdk-lib';
import { addFlowrunner } from './stacks/flowrunner.js';

const app = new App();
const prefix = app.node.tryGetContext('flowrunner:prefix') as string | undefined;
// Observability (docs/observability.md): `-c flowrunner:adotLayerArn=…`, `-c flowrunner:otlpEndpoint=…`, `-c flowrunner:alarmEmail=…`.
const context = (name: string) =>
  (app.node.tryGetContext(`flowrunner:${name}`) as string | undefined) || undefined;
const collectorLayerArn = context('adotLayerArn');
const endpoint = context('otlpEndpoint');
const alarmEmail = context('alarmEmail');
addFlowrunner(app, {
  ...(prefix ? { prefix } : {}),
  observability: {
    tracing: { ...(collectorLayerArn ? { collectorLayerArn } : {}), ...(endpoint ? { endpoint } : {}) },
    ...(alarmEmail ? { alarmEmails: [alarmEmail] } : {}),
  },
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
