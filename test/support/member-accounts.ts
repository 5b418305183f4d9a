import { loadStageConfig } from '../../lib/config/load';
import type { SlipwayConfig } from '../../lib/config/schema';
import { assumingFunctions, type MemberTemplateInputs, vaultFunctions } from '../../lib/events/member-account-template';

/**
 * config/kitchen-sink.yml with more of its environments placed in member accounts than its own app api has:
 * shop's staging in account staging's eu-west-1, deploying from a repository of that account, with task and
 * lifecycle hook roles there, and web's production in the same account's us-east-1, from a registry outside
 * AWS. The generator's cases the committed templates do not show: a hook role, and two regions' environments
 * with one repository between them.
 */
export const MEMBER = { staging: '222222222222', production: '333333333333' } as const;

export function placedKitchenSink(): SlipwayConfig {
  const config = structuredClone(loadStageConfig('kitchen-sink'));
  const shop = config.apps.shop as SlipwayConfig['apps'][string];
  const web = config.apps.web as SlipwayConfig['apps'][string];
  shop.repository = `${MEMBER.staging}.dkr.ecr.eu-west-1.amazonaws.com/shop-backend`;
  Object.assign(shop.environments.staging as object, {
    account: 'staging',
    region: 'eu-west-1',
    passRoles: [
      `arn:aws:iam::${MEMBER.staging}:role/shop-staging-task`,
      `arn:aws:iam::${MEMBER.staging}:role/ecsTaskExecutionRole`,
    ],
    lifecycleHookRoles: [`arn:aws:iam::${MEMBER.staging}:role/shop-staging-lifecycle-hook`],
  });
  Object.assign(web.environments.production as object, {
    account: 'staging',
    region: 'us-east-1',
    passRoles: [`arn:aws:iam::${MEMBER.staging}:role/ecsTaskExecutionRole`],
  });
  return config;
}

/** What the generator is given for an account of the kitchen sink, whose control plane runs in us-east-1. */
export const memberInputs = (account: string, config = loadStageConfig('kitchen-sink')): MemberTemplateInputs => ({
  config,
  account,
  stage: 'kitchen-sink',
  service: 'slipway',
  controlPlaneRegion: 'us-east-1',
  assumingFunctions: assumingFunctions(),
  vaultFunctions: vaultFunctions(),
});
