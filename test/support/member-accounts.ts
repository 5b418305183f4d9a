import { loadStageConfig } from '../../lib/config/load';
import type { SlipwayConfig } from '../../lib/config/schema';
import { assumingFunctions, type MemberTemplateInputs } from '../../lib/events/member-account-template';

/**
 * config/kitchen-sink.yml with environments placed in its member accounts, as config will accept once
 * deployments act through an account's role (lib/config/sections/accounts.ts refuses any placement until
 * then): shop's staging in account staging's eu-west-1, deploying from a repository of that account, and web's
 * production in its us-east-1; each with task and hook roles of the account. Account production keeps none.
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
});
