import { readFileSync } from 'node:fs';
import type { DescribeTaskDefinitionCommandOutput, TaskDefinition } from '@aws-sdk/client-ecs';
import { changedFields, pinnedImage, planTaskDefinition, unlistedRoles } from '../../../lib/deploy/task-definition';

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

describe('changedFields', () => {
  const running = () => structuredClone(described('multi-container').taskDefinition as TaskDefinition);
  const container = (definition: TaskDefinition, name: string) =>
    definition.containerDefinitions?.find((candidate) => candidate.name === name) as NonNullable<
      TaskDefinition['containerDefinitions']
    >[number];

  it('names only the image when a deploy plans the next revision', () => {
    // Given the running revision, and the one a deploy of web and worker would register
    const current = running();
    const { input } = planTaskDefinition(current, undefined, {
      containers: ['web', 'worker'],
      repository: '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-web',
      digest: DIGEST,
    });

    // When they are compared, then the images are all that changes (the describe-only fields do not count)
    expect(changedFields(current, input)).toEqual([
      'containerDefinitions.web.image',
      'containerDefinitions.worker.image',
    ]);
  });

  it('names environment variables and secrets that differ, and never their values', () => {
    // Given a revision to go back to whose web container had a plaintext key and a secret, and a
    // worker whose QUEUE differed, with more memory; the running one has neither
    const current = running();
    const previous = running();
    const web = container(previous, 'web');
    web.environment = [{ name: 'PAYMENTS_API_KEY', value: 'pk_live_plaintext' }];
    web.secrets = [{ name: 'DATABASE_URL', valueFrom: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db' }];
    container(previous, 'worker').environment = [{ name: 'QUEUE', value: 'jobs-previous' }];
    previous.memory = '4096';

    // When they are compared
    const fields = changedFields(current, previous);

    // Then each changed name is listed, and no value is anywhere in the answer
    expect(fields).toEqual([
      'memory',
      'containerDefinitions.web.environment.PAYMENTS_API_KEY',
      'containerDefinitions.web.secrets.DATABASE_URL',
      'containerDefinitions.worker.environment.QUEUE',
    ]);
    expect(JSON.stringify(fields)).not.toMatch(/pk_live_plaintext|secretsmanager|jobs/);
  });

  it('names a container added or removed, and nothing when the revisions are the same', () => {
    // Given a revision without the worker container
    const current = running();
    const previous = running();
    previous.containerDefinitions = previous.containerDefinitions?.filter((definition) => definition.name !== 'worker');

    // When compared either way, and with itself
    // Then the container is named whole, and a revision equal to the running one changes nothing
    expect(changedFields(current, previous)).toEqual(['containerDefinitions.worker']);
    expect(changedFields(previous, current)).toEqual(['containerDefinitions.worker']);
    expect(changedFields(current, running())).toEqual([]);
  });
});
