/**
 * Who may put events on the control plane's default event bus, in the packaged templates: the accounts
 * config/kitchen-sink.yml names (the accounts of their role ARNs), exactly, and with config/prod.yml, which
 * names none, no policy at all (the bus then takes events of its own account only: EventBridge User Guide,
 * "Permissions for Amazon EventBridge event buses"). IAM's decision on a member account's PutEvents is
 * simulated with the bus's policy as packaged.
 */
import { rmSync } from 'node:fs';
import { loadStageConfig } from '../../lib/config/load';
import { memberAccountIds } from '../../lib/config/sections/accounts';
import { type CloudFormationTemplate, PACKAGED_STAGES, packagedStage, readTemplate } from '../support/package';
import { TEST_PLACE, templateValues } from './cloudformation';
import type { PolicyDocument } from './iam-requests';
import { refusalOf } from './iam-simulation';

const templates = new Map<string, CloudFormationTemplate>();
const owned: string[] = [];

beforeAll(async () => {
  for (const stage of PACKAGED_STAGES) {
    const { dir, owned: mine } = await packagedStage(stage);
    if (mine) owned.push(dir);
    templates.set(stage, readTemplate(dir));
  }
});

afterAll(() => {
  for (const dir of owned) rmSync(dir, { recursive: true, force: true });
});

const policiesOf = (template: CloudFormationTemplate) =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::Events::EventBusPolicy');

const BUS = `arn:aws:events:${TEST_PLACE.region}:${TEST_PLACE.account}:event-bus/default`;

/** A forwarding role in `account` whose own policy lets it put events on the control plane's bus. */
const forwarder = (account: string) => ({
  arn: `arn:aws:iam::${account}:role/slipway-kitchen-sink-events`,
  policies: [
    {
      name: 'forward',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: BUS }] },
    },
  ],
});

describe('the event bus policy, in the packaged kitchen-sink template (three accounts)', () => {
  it('lets exactly the configured accounts put events on the default bus', () => {
    // Given the accounts config names, by the accounts of their roles
    const template = templates.get('kitchen-sink') as CloudFormationTemplate;
    const expected = Object.values(memberAccountIds(loadStageConfig('kitchen-sink').accounts)).sort();
    expect(expected).toEqual(['222222222222', '333333333333', '555555555555']);

    // When the template's event bus policies are read
    const policies = policiesOf(template);

    // Then there is one, on the default bus, allowing PutEvents to those accounts and no other
    expect(policies.length).toBe(1);
    const [, policy] = policies[0] as [string, CloudFormationTemplate['Resources'][string]];
    const values = templateValues(template, TEST_PLACE, 'slipway-kitchen-sink');
    const properties = values.resolve(policy.Properties) as {
      EventBusName: string;
      Statement: { Effect: string; Action: string; Principal: { AWS: string[] }; Resource: string };
    };
    expect(properties.EventBusName).toBe('default');
    // And, as the kitchen sink names their organization, only from principals of it
    expect(properties.Statement).toEqual({
      Effect: 'Allow',
      Action: 'events:PutEvents',
      Principal: { AWS: expected },
      Resource: BUS,
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
    });
  });

  it('lets a configured account’s forwarding role through, and refuses another account’s', async () => {
    // Given the bus's policy as IAM evaluates it
    const template = templates.get('kitchen-sink') as CloudFormationTemplate;
    const [, policy] = policiesOf(template)[0] as [string, CloudFormationTemplate['Resources'][string]];
    const statement = templateValues(template, TEST_PLACE, 'slipway-kitchen-sink').resolve(
      policy.Properties?.Statement,
    );
    const resourcePolicy: PolicyDocument = { Version: '2012-10-17', Statement: [statement] };
    const putEvents = (organization: string) => ({
      action: 'events:PutEvents',
      resource: BUS,
      what: 'the default bus',
      context: { 'aws:PrincipalOrgID': organization },
      resourcePolicy,
    });

    // When a role of each account, allowed by its own policy, puts events on it from an organization
    const decide = (account: string, organization = 'o-a1b2c3d4e5') =>
      refusalOf(putEvents(organization), forwarder(account), { ...TEST_PLACE, account });

    // Then IAM allows the configured accounts of config's organization, and refuses any other account, and
    // a configured account that has left for another organization
    expect(await decide('222222222222')).toBeUndefined();
    expect(await decide('333333333333')).toBeUndefined();
    expect(await decide('555555555555')).toBeUndefined();
    expect(await decide('444444444444')).toMatch(/Denied/);
    expect(await decide('222222222222', 'o-zzzzzzzzzz')).toMatch(/Denied/);
  });
});

describe('the event bus policy, in the packaged prod template (no account)', () => {
  it('is absent: the bus keeps its own account’s events only', () => {
    expect(loadStageConfig('prod').accounts).toEqual({});
    expect(policiesOf(templates.get('prod') as CloudFormationTemplate)).toEqual([]);
  });
});
