import { readFileSync } from 'node:fs';
import type { DescribeTaskDefinitionCommandOutput, TaskDefinition } from '@aws-sdk/client-ecs';
import { pinnedImage, planTaskDefinition, unlistedRoles } from '../../../lib/deploy/task-definition';

// The eight fields DescribeTaskDefinition returns and RegisterTaskDefinition refuses (ECS API reference).
const DESCRIBE_ONLY = [
  'taskDefinitionArn',
  'revision',
  'status',
  'requiresAttributes',
  'compatibilities',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
];

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function described(name: string): DescribeTaskDefinitionCommandOutput {
  return JSON.parse(readFileSync(`test/fixtures/ecs/describe-task-definition.${name}.json`, 'utf8'));
}

describe('planTaskDefinition', () => {
  it.each([
    ['fargate', ['backend'], '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-backend'],
    ['multi-container', ['web', 'worker'], '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-web'],
    ['ec2-volumes', ['app'], 'ghcr.io/acme/uploads'],
  ])('copies the %s definition field by field, changing only the target images', (fixture, containers, repository) => {
    // Given the definition the service runs now
    const { taskDefinition, tags } = described(fixture);
    const current = taskDefinition as TaskDefinition;

    // When the next revision is planned
    const { input, changes } = planTaskDefinition(current, tags, { containers, repository, digest: DIGEST });

    // Then every field but the describe-only ones is kept exactly
    for (const [field, value] of Object.entries(current)) {
      if (DESCRIBE_ONLY.includes(field)) {
        expect({ field, present: field in input }).toEqual({ field, present: false });
      } else if (field !== 'containerDefinitions') {
        expect({ field, value: (input as unknown as Record<string, unknown>)[field] }).toEqual({ field, value });
      }
    }
    // And each container is the same but for the image of the targets, pinned by digest
    expect(input.containerDefinitions).toHaveLength(current.containerDefinitions?.length ?? 0);
    current.containerDefinitions?.forEach((before, index) => {
      const after = input.containerDefinitions?.[index];
      const targeted = containers.includes(before.name ?? '');
      expect(after).toEqual({ ...before, image: targeted ? `${repository}@${DIGEST}` : before.image });
    });
    expect(changes).toEqual(
      containers.map((container) => ({
        container,
        from: current.containerDefinitions?.find((definition) => definition.name === container)?.image,
        to: `${repository}@${DIGEST}`,
      })),
    );
    // And the tags are re-attached when there are any
    if (tags && tags.length > 0) expect(input.tags).toEqual(tags);
    else expect(input).not.toHaveProperty('tags');
  });

  it('keeps environment entries with empty values', () => {
    const { taskDefinition, tags } = described('fargate');
    const { input } = planTaskDefinition(taskDefinition as TaskDefinition, tags, {
      containers: ['backend'],
      repository: 'repo',
      digest: DIGEST,
    });
    expect(input.containerDefinitions?.[0]?.environment).toContainEqual({ name: 'SENTRY_RELEASE', value: '' });
  });

  it('does not change the definition it was given', () => {
    const { taskDefinition, tags } = described('multi-container');
    const before = structuredClone(taskDefinition);
    planTaskDefinition(taskDefinition as TaskDefinition, tags, {
      containers: ['web'],
      repository: 'r',
      digest: DIGEST,
    });
    expect(taskDefinition).toEqual(before);
  });

  it('refuses a container the definition does not have, naming what it has', () => {
    const { taskDefinition, tags } = described('multi-container');
    expect(() =>
      planTaskDefinition(taskDefinition as TaskDefinition, tags, {
        containers: ['api'],
        repository: 'r',
        digest: DIGEST,
      }),
    ).toThrow('task definition shop-web has no container named api (it has web, worker, envoy)');
  });

  it('pins only real digests', () => {
    expect(pinnedImage('repo', DIGEST)).toBe(`repo@${DIGEST}`);
    expect(() => pinnedImage('repo', 'latest')).toThrow('latest is not an image digest (sha256:<64 hex digits>)');
  });
});

describe('unlistedRoles', () => {
  const TASK = 'arn:aws:iam::123456789012:role/shop-backend-task';
  const EXECUTION = 'arn:aws:iam::123456789012:role/service-role/shop-backend-execution';

  it.each<[string, { taskRoleArn?: string; executionRoleArn?: string }, string[] | undefined, string[]]>([
    ['no passRoles: any role may be passed', { taskRoleArn: TASK, executionRoleArn: EXECUTION }, undefined, []],
    ['both listed', { taskRoleArn: TASK, executionRoleArn: EXECUTION }, [TASK, EXECUTION], []],
    ['the execution role missing', { taskRoleArn: TASK, executionRoleArn: EXECUTION }, [TASK], [EXECUTION]],
    [
      'a role given by name, listed by ARN (with a path)',
      { executionRoleArn: 'shop-backend-execution' },
      [EXECUTION],
      [],
    ],
    ['a name no listed ARN ends in', { taskRoleArn: 'shop-backend' }, [TASK], ['shop-backend']],
    [
      'an ARN of another account with the same name',
      { taskRoleArn: TASK.replace('123456789012', '210987654321') },
      [TASK],
      [TASK.replace('123456789012', '210987654321')],
    ],
    ['no roles at all', {}, [TASK], []],
  ])('given %s, when checked, then it answers the roles not listed', (_, input, passRoles, expected) => {
    expect(unlistedRoles(input, passRoles)).toEqual(expected);
  });
});
