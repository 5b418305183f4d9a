import type { SlipwayConfig } from '../../config/schema';
import { ecrRepository } from '../../deploy/ecs';

/**
 * What a member account's role lets a release read (lib/release/ecr-images.ts, through lib/release/releases.ts and
 * the registry webhook's tag lookup): the images of the account's repositories that an environment's release
 * policy deploys from, wherever that environment is; their scans only where a policy holds pushes to one
 * (maxFindings). Pure functions of config, for lib/events/member-account-template.ts.
 */

export interface ReleasedRepository {
  region: string;
  name: string;
  /** A release policy of the repository has maxFindings: its scans are read. */
  scanned: boolean;
}

/** The account's ECR repositories a release policy deploys from, each once. */
export function releasedRepositories(config: Pick<SlipwayConfig, 'apps'>, accountId: string): ReleasedRepository[] {
  const found = new Map<string, ReleasedRepository>();
  for (const app of Object.values(config.apps)) {
    const policies = Object.values(app.environments).flatMap((env) => (env.release ? [env.release] : []));
    const repository = ecrRepository(app.repository);
    if (policies.length === 0 || repository?.registryId !== accountId) continue;
    const key = `${repository.region}/${repository.repositoryName}`;
    const scanned = (found.get(key)?.scanned ?? false) || policies.some((policy) => policy.maxFindings !== undefined);
    found.set(key, { region: repository.region, name: repository.repositoryName, scanned });
  }
  return [...found.values()].sort((a, b) => `${a.region}/${a.name}`.localeCompare(`${b.region}/${b.name}`));
}

const repositoryArn = ({ region, name }: ReleasedRepository) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ecr:${region}:\${AWS::AccountId}:repository/${name}`,
});

/** The role's statements for those reads; none when the account holds no released repository. */
export function releaseReadStatements(repositories: ReleasedRepository[]): Record<string, unknown>[] {
  const scanned = repositories.filter((repository) => repository.scanned);
  if (repositories.length === 0) return [];
  return [
    // A push's image, and the running image's tags.
    {
      Sid: 'DescribeReleasedImages',
      Effect: 'Allow',
      Action: ['ecr:DescribeImages'],
      Resource: repositories.map(repositoryArn),
    },
    ...(scanned.length === 0
      ? []
      : [
          // An image index's manifest (BatchGetImage) and enhanced scanning's findings (DescribeImageScanFindings).
          {
            Sid: 'ReadReleasedImageScans',
            Effect: 'Allow',
            Action: ['ecr:BatchGetImage', 'ecr:DescribeImageScanFindings'],
            Resource: scanned.map(repositoryArn),
          },
          // ECR reads enhanced findings from Amazon Inspector as the caller (ECR user guide, "IAM permissions
          // required for enhanced scanning"); ListFindings names no resource: held to the repositories' regions.
          {
            Sid: 'ListReleasedImageFindings',
            Effect: 'Allow',
            Action: ['inspector2:ListFindings'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:RequestedRegion': [...new Set(scanned.map(({ region }) => region))] } },
          },
        ]),
  ];
}
