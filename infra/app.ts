/** The CDK app (`cdk.json` runs it with tsx): `npx cdk synth`, `npm run deploy`. */
import { App } from 'aws-cdk-lib';
import { addFlowrunner } from './stacks/flowrunner.js';

const app = new App();
const prefix = app.node.tryGetContext('flowrunner:prefix') as string | undefined;
addFlowrunner(app, {
  ...(prefix ? { prefix } : {}),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
