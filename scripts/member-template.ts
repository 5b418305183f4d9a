/**
 * `npm run member-template -- --account NAME [--stage STAGE] [--region REGION]`: writes
 * resources/member-account/<stage>-<account>.yml, the CloudFormation template member account NAME deploys
 * (lib/events/member-account-template.ts), from config/<stage>.yml (default stage: prod). REGION is the control
 * plane's, which its function roles are named after: as serverless.yml takes it, --region, else AWS_REGION,
 * else us-east-1. A unit test fails when a committed file is stale.
 */
import { parseArgs } from 'node:util';
import { loadStageConfig } from '../lib/config/load';
import {
  assumingFunctions,
  memberTemplatePath,
  renderMemberAccountTemplate,
  vaultFunctions,
} from '../lib/events/member-account-template';
import { writeGenerated } from './write-generated';

const { values } = parseArgs({
  options: { account: { type: 'string' }, stage: { type: 'string', default: 'prod' }, region: { type: 'string' } },
});
if (!values.account) {
  process.stderr.write('usage: npm run member-template -- --account NAME [--stage STAGE] [--region REGION]\n');
  process.exit(2);
}
const stage = values.stage as string;
const text = renderMemberAccountTemplate({
  config: loadStageConfig(stage),
  account: values.account,
  stage,
  service: 'slipway',
  controlPlaneRegion: values.region ?? process.env.AWS_REGION ?? 'us-east-1',
  assumingFunctions: assumingFunctions(),
  vaultFunctions: vaultFunctions(),
});
writeGenerated(memberTemplatePath(stage, values.account), text);
