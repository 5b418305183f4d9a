import { stringify } from 'yaml';
import { accountIdOf } from '../config/account-ids';
import type { SlipwayConfig } from '../config/schema';
import { ecrRepository } from '../deploy/ecs';
import { ConfigError } from '../errors';
import { camel, inAccount, sub, unique } from './member-account/cloudformation';
import { databaseEventIdentifiers, databaseRegions } from './member-account/databases';
import { forwardingResources, forwardingRole } from './member-account/forwarding';
import { memberHealthAlarms } from './member-account/health-alarms';
import { releasedRepositories } from './member-account/release-reads';
import { placedEnvironments } from './member-account-template';

/**
 * The standalone CloudFormation template of one region of the control plane's own account other than its own,
 * generated from config (`npm run region-template`, resources/control-plane-region/<stage>-<region>.yml), for each
 * region where config places an environment, a database (or its copyToRegion) or an ECR repository of that account:
 *
 * - the health alarms of the environments there (lib/health/alarm-placement.ts), made as a member account's template
 *   makes them (lib/events/member-account/health-alarms.ts), since ECS looks the alarms UpdateService is handed up in
 *   the service's region (ECS API Reference, DeploymentAlarms);
 * - the EventBridge rules forwarding their ECS deployment, ECR push and scan (basic and Amazon Inspector's), RDS and
 *   Slipway's alarm events to the control plane's default event bus, in its region, through a role allowed to put
 *   events on that bus alone, with a dead-letter queue (lib/events/member-account/forwarding.ts).
 *
 * No role for the control plane to assume: its functions act in the region with their own credentials, which their
 * own grants allow (serverless/iam/statements.yml). Pure functions of config.
 */

export const REGION_TEMPLATE_DIR = 'resources/control-plane-region';
export const regionTemplatePath = (stage: string, region: string) => `${REGION_TEMPLATE_DIR}/${stage}-${region}.yml`;

export interface RegionTemplateInputs {
  config: SlipwayConfig;
  stage: string;
  /** serverless.yml's service. */
  service: string;
  /** The control plane's region, whose default bus the rules forward to. */
  controlPlaneRegion: string;
  /** The region the template is for. */
  region: string;
}

type Json = Record<string, unknown>;

// IAM role names are at most 64 characters (IAM User Guide, "IAM and AWS STS quotas").
const ROLE_NAME_MAX = 64;
const FORWARDING_ROLE = 'EventForwardingRole';

/** The role a region's rules forward with: IAM's names are global to the account, so each region has its own. */
export function regionForwardingRoleName(service: string, stage: string, region: string): string {
  const name = `${service}-${stage}-event-forwarding-${region}`;
  if (name.length > ROLE_NAME_MAX) {
    throw new ConfigError(`the forwarding role name ${name} is over IAM's ${ROLE_NAME_MAX} characters`);
  }
  return name;
}

/**
 * The control plane's account's ECR repositories config's apps deploy from, with their regions: those of no account
 * config names (a member account's are its template's). A repository of an account config does not name at all
 * has no events here, so its rule matches none.
 */
function ownRepositories(config: SlipwayConfig): Array<{ registryId: string; region: string; name: string }> {
  const members = new Set(Object.values(config.accounts).map(({ roleArn }) => accountIdOf(roleArn)));
  return unique(
    Object.values(config.apps).flatMap((app) => {
      const repository = ecrRepository(app.repository);
      return repository && !members.has(repository.registryId)
        ? [{ registryId: repository.registryId, region: repository.region, name: repository.repositoryName }]
        : [];
    }),
  );
}

/** The regions other than the control plane's where config places something of the control plane's own account. */
export function controlPlaneRegions(config: SlipwayConfig, controlPlaneRegion: string): string[] {
  return unique([
    ...placedEnvironments(config, undefined, controlPlaneRegion).map(({ region }) => region),
    ...databaseRegions(config, undefined, controlPlaneRegion),
    ...ownRepositories(config).map(({ region }) => region),
  ])
    .filter((region) => region !== controlPlaneRegion)
    .sort();
}

/** The template, as an object. */
export function regionTemplate(inputs: RegionTemplateInputs): Json {
  const { config, stage, service, controlPlaneRegion, region } = inputs;
  if (!controlPlaneRegions(config, controlPlaneRegion).includes(region)) {
    throw new ConfigError(
      `config places nothing of the control plane's account in ${region} (its regions other than ${controlPlaneRegion}: ${controlPlaneRegions(config, controlPlaneRegion).join(', ') || 'none'})`,
    );
  }
  const placed = placedEnvironments(config, undefined, controlPlaneRegion).filter((one) => one.region === region);
  const repositories = ownRepositories(config).filter((repository) => repository.region === region);
  const scanned = unique(
    repositories.flatMap(({ registryId }) =>
      releasedRepositories(config, registryId).filter((released) => released.scanned && released.region === region),
    ),
  );
  const condition = `In${camel(region)}`;
  const busArn = sub(`arn:\${AWS::Partition}:events:${controlPlaneRegion}:\${AWS::AccountId}:event-bus/default`);
  const resources: Json = {
    [FORWARDING_ROLE]: forwardingRole({
      roleName: regionForwardingRoleName(service, stage, region),
      description: `EventBridge forwards ${region}'s events to Slipway stage ${stage}'s control plane in ${controlPlaneRegion} with it`,
      condition,
      busArn,
    }),
    ...forwardingResources({
      config,
      stage,
      where: `the control plane's account, ${region}`,
      region,
      placed,
      repositoryNames: unique(repositories.map(({ name }) => name)),
      scannedArns: scanned.map(({ name }) => inAccount('ecr', region, `repository/${name}`)),
      rdsIdentifiers: databaseEventIdentifiers(config, undefined, region, controlPlaneRegion),
      busArn,
      roleArn: { 'Fn::GetAtt': [FORWARDING_ROLE, 'Arn'] },
      condition,
    }),
    ...memberHealthAlarms(stage, placed, () => condition),
  };
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `Slipway stage ${stage}: what ${region} of the control plane's account holds for its control plane in ${controlPlaneRegion}`,
    Conditions: { [condition]: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, region] } },
    Resources: resources,
  };
}

/** The template's text, with a header saying what made it and how it is deployed. */
export function renderRegionTemplate(inputs: RegionTemplateInputs): string {
  const template = regionTemplate(inputs);
  const { stage, region, controlPlaneRegion } = inputs;
  const header = [
    `Generated by \`npm run region-template -- --stage ${stage} --region ${controlPlaneRegion}\` from config/${stage}.yml: do not edit.`,
    `Region ${region} of the account of Slipway stage ${stage}'s control plane, which runs in ${controlPlaneRegion}.`,
    `Deploy it in ${region} of that account: aws cloudformation deploy --region ${region} --template-file <this file> --stack-name slipway-${stage}-region --capabilities CAPABILITY_NAMED_IAM`,
    'Its rules forward events to the control plane\'s bus as the EventBridge User Guide describes ("Sending and receiving events between AWS Regions in Amazon EventBridge"). See docs/member-accounts.md.',
  ];
  return `${header.map((line) => `# ${line}`).join('\n')}\n${stringify(template, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
