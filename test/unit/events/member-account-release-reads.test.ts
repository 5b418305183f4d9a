import { loadStageConfig } from '../../../lib/config/load';
import type { SlipwayConfig } from '../../../lib/config/schema';
import { memberAccountTemplate } from '../../../lib/events/member-account-template';
import { MEMBER, memberInputs, placedKitchenSink } from '../../support/member-accounts';

/**
 * What a member template gives the releases of the account's repositories: ECR reads on exactly the repositories
 * release policies deploy from (scans only where a policy has maxFindings), and the forwarding of their pushes and
 * scans, wherever the environments those policies deploy to are. IAM's decisions are test/template/member-account.test.ts's.
 */

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template, read here by its paths
type Json = Record<string, any>;

const repositoryArn = (region: string, name: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ecr:${region}:\${AWS::AccountId}:repository/${name}`,
});
const statements = (template: Json): Record<string, Json> =>
  Object.fromEntries(
    (template.Resources.TargetRole.Properties.Policies?.[0]?.PolicyDocument.Statement ?? []).map((statement: Json) => [
      statement.Sid,
      statement,
    ]),
  );

/** The forwarding rules, each with the repositories its pattern names. */
const forwarded = (template: Json) =>
  Object.entries(template.Resources as Record<string, Json>)
    .filter(([, resource]) => resource.Type === 'AWS::Events::Rule')
    .map(([id, rule]) => [id, rule.Properties.EventPattern.detail['repository-name']]);

/**
 * The kitchen sink with shop's repository in account production's ap-southeast-2, and no environment placed there
 * (app api, whose production is placed there, left out).
 */
function releasedFromProduction(maxFindings: boolean): SlipwayConfig {
  const config = structuredClone(loadStageConfig('kitchen-sink'));
  delete config.apps.api;
  const shop = config.apps.shop as SlipwayConfig['apps'][string];
  shop.repository = `${MEMBER.production}.dkr.ecr.ap-southeast-2.amazonaws.com/shop-backend`;
  if (!maxFindings) delete (shop.environments.staging as { release: { maxFindings?: unknown } }).release.maxFindings;
  return config;
}

describe('the release reads of a member template', () => {
  it('lets the role read the images and scans of a repository release policies deploy from, with no environment there', () => {
    // Given shop's repository in production's ap-southeast-2, staging's policy holding pushes to its scan
    const template = memberAccountTemplate(memberInputs('production', releasedFromProduction(true))) as Json;

    // Then the role reads its images, the index manifests and findings, and Inspector's findings in that region
    expect(statements(template)).toEqual({
      DescribeReleasedImages: {
        Sid: 'DescribeReleasedImages',
        Effect: 'Allow',
        Action: ['ecr:DescribeImages'],
        Resource: [repositoryArn('ap-southeast-2', 'shop-backend')],
      },
      ReadReleasedImageScans: {
        Sid: 'ReadReleasedImageScans',
        Effect: 'Allow',
        Action: ['ecr:BatchGetImage', 'ecr:DescribeImageScanFindings'],
        Resource: [repositoryArn('ap-southeast-2', 'shop-backend')],
      },
      ListReleasedImageFindings: {
        Sid: 'ListReleasedImageFindings',
        Effect: 'Allow',
        Action: ['inspector2:ListFindings'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:RequestedRegion': ['ap-southeast-2'] } },
      },
    });
    // And its pushes and scans, basic and enhanced (Amazon Inspector's, by repository ARN), are forwarded from that
    // region, and nothing else is
    expect(forwarded(template)).toEqual([
      ['EcrImageActionForwardingApSoutheast2', ['shop-backend']],
      ['EcrImageScanForwardingApSoutheast2', ['shop-backend']],
      ['InspectorScanForwardingApSoutheast2', [repositoryArn('ap-southeast-2', 'shop-backend')]],
    ]);
    expect(template.Resources.InspectorScanForwardingApSoutheast2.Properties.EventPattern).toMatchObject({
      source: ['aws.inspector2'],
      'detail-type': ['Inspector2 Scan'],
    });
    expect(template.Conditions.InHomeRegion).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'ap-southeast-2'] });
  });

  it('reads no scan, and forwards no Inspector event, where no policy of the repository has maxFindings', () => {
    const template = memberAccountTemplate(memberInputs('production', releasedFromProduction(false))) as Json;

    expect(Object.keys(statements(template))).toEqual(['DescribeReleasedImages']);
    expect(forwarded(template).map(([id]) => id)).toEqual([
      'EcrImageActionForwardingApSoutheast2',
      'EcrImageScanForwardingApSoutheast2',
    ]);
  });

  it('gives nothing to the account when no release policy deploys from its repository', () => {
    // Given shop's repository in production, and no environment of shop with a release policy
    const config = releasedFromProduction(true);
    for (const env of Object.values(config.apps.shop?.environments ?? {}))
      delete (env as { release?: unknown }).release;

    const template = memberAccountTemplate(memberInputs('production', config)) as Json;

    expect(Object.keys(template.Resources)).toEqual(['TargetRole']);
  });

  it('grants the deploy’s and the release’s reads side by side where both read one repository', () => {
    // Given shop's repository in staging's eu-west-1, where staging is placed too
    const template = memberAccountTemplate(memberInputs('staging', placedKitchenSink())) as Json;

    const byId = statements(template);
    expect(byId.DescribeImages?.Resource).toEqual([repositoryArn('eu-west-1', 'shop-backend')]);
    expect(byId.DescribeReleasedImages?.Resource).toEqual([repositoryArn('eu-west-1', 'shop-backend')]);
    expect(byId.ReadReleasedImageScans?.Resource).toEqual([repositoryArn('eu-west-1', 'shop-backend')]);
  });
});
