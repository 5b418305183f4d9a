import { createHash } from 'node:crypto';
import { ClusterNotFoundException, ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { UpstreamFailed } from '../../../lib/errors';
import {
  runTaskInput,
  type TaskSettings,
  volumeFunctionName,
  type WorkerJob,
  workerJob,
  workerLauncher,
} from '../../../lib/worker/launch';

const BACKUP_ID = 'bkp-3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b';
const RESTORE_ID = 'rst-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const backupJob: WorkerJob = { type: 'backup', backupId: BACKUP_ID };
const restoreJob: WorkerJob = { type: 'restore', restoreId: RESTORE_ID };

const CLUSTER = 'arn:aws:ecs:us-east-1:123456789012:cluster/slipway-prod-worker';
const TASK_DEFINITION = 'arn:aws:ecs:us-east-1:123456789012:task-definition/slipway-prod-worker:7';
const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/slipway-prod-worker/4f8e2c1a9b7d4e6f8a0b1c2d3e4f5a6b';
const settings: TaskSettings = {
  cluster: CLUSTER,
  taskDefinition: TASK_DEFINITION,
  network: {
    subnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-0f1e2d3c4b5a69788'],
    securityGroupIds: ['sg-0a1b2c3d4e5f60718'],
    assignPublicIp: false,
  },
};

/** The RunTask input for `job` with `settings`, written out as the worker task expects it. */
const expectedRunTask = (job: WorkerJob, tag: string, assignPublicIp: 'ENABLED' | 'DISABLED' = 'DISABLED') => ({
  cluster: CLUSTER,
  taskDefinition: TASK_DEFINITION,
  launchType: 'FARGATE',
  count: 1,
  networkConfiguration: {
    awsvpcConfiguration: {
      subnets: ['subnet-0a1b2c3d4e5f60718', 'subnet-0f1e2d3c4b5a69788'],
      securityGroups: ['sg-0a1b2c3d4e5f60718'],
      assignPublicIp,
    },
  },
  overrides: {
    containerOverrides: [{ name: 'worker', command: ['run-job', '--job', JSON.stringify(job)] }],
  },
  startedBy: 'slipway',
  tags: [{ key: 'slipway:job', value: tag }],
  propagateTags: 'TASK_DEFINITION',
});

const lambda = mockClient(LambdaClient);
const ecs = mockClient(ECSClient);
const lambdaClient = new LambdaClient({ region: 'us-east-1' });
const ecsClient = new ECSClient({ region: 'us-east-1' });

beforeEach(() => {
  lambda.reset();
  ecs.reset();
});

const launcherWith = (task: TaskSettings | undefined) =>
  workerLauncher({ ecs: () => ecsClient, lambda: () => lambdaClient, service: 'slipway', stage: 'prod', task });
const launcher = () => launcherWith(settings);

/** What `promise` rejected with, failing the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** The JSON job sent as the Invoke payload of call `index`. */
function invokedPayload(index = 0): unknown {
  const payload = lambda.commandCalls(InvokeCommand)[index]?.args[0].input.Payload;
  expect(payload).toBeInstanceOf(Uint8Array);
  return JSON.parse(new TextDecoder().decode(payload as Uint8Array));
}

describe('workerJob', () => {
  it.each([
    ['a backup job', backupJob],
    ['a restore job', restoreJob],
  ])('given %s, when it is parsed, then it is accepted unchanged', (_label, job) => {
    // when
    const result = workerJob.safeParse(job);

    // then
    expect(result.success).toBe(true);
    expect(result.data).toEqual(job);
  });

  it('given a job of an unknown type, when it is parsed, then the issue names both shapes', () => {
    // when
    const result = workerJob.safeParse({ type: 'archive', backupId: BACKUP_ID });

    // then
    expect(result.error?.issues.map(({ path, message }) => ({ path, message }))).toEqual([
      { path: ['type'], message: 'expected a worker job {type: backup, backupId} or {type: restore, restoreId}' },
    ]);
  });

  it.each([
    ['a backup id that is not one', { type: 'backup', backupId: 'snap-1' }, ['backupId']],
    ['a restore job carrying a backup id', { type: 'restore', restoreId: RESTORE_ID, backupId: BACKUP_ID }, []],
    ['a restore job without its id', { type: 'restore' }, ['restoreId']],
  ])('given %s, when it is parsed, then it is refused at that field', (_label, job, path) => {
    // when
    const result = workerJob.safeParse(job);

    // then
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([path]);
  });
});

describe('volumeFunctionName', () => {
  it('given a short volume name, when the function is named, then it is <service>-<stage>-volume-<volume>', () => {
    // when
    const name = volumeFunctionName('slipway', 'prod', 'shop-uploads');

    // then
    expect(name).toBe('slipway-prod-volume-shop-uploads');
  });

  it('given a name of exactly 64 characters, when the function is named, then it is kept whole', () => {
    // given 'slipway-prod-volume-' is 20 characters
    const volume = `v${'a'.repeat(43)}`;

    // when
    const name = volumeFunctionName('slipway', 'prod', volume);

    // then
    expect(name).toBe(`slipway-prod-volume-${volume}`);
    expect(name).toHaveLength(64);
  });

  it('given a name one character too long, when the function is named, then it is cut to 64 with a hash of the volume', () => {
    // given
    const volume = `v${'a'.repeat(44)}`;
    const hash = createHash('sha256').update(volume).digest('hex').slice(0, 8);

    // when
    const name = volumeFunctionName('slipway', 'prod', volume);

    // then
    expect(name).toHaveLength(64);
    expect(name).toBe(`${`slipway-prod-volume-${volume}`.slice(0, 55)}-${hash}`);
  });

  it('given two long volumes that share their first characters, when their functions are named, then the names differ', () => {
    // given
    const common = `shared-${'x'.repeat(50)}`;

    // when
    const first = volumeFunctionName('slipway', 'production', `${common}-one`);
    const second = volumeFunctionName('slipway', 'production', `${common}-two`);

    // then
    expect(first).toHaveLength(64);
    expect(second).toHaveLength(64);
    expect(first.slice(0, 55)).toBe(second.slice(0, 55));
    expect(first).not.toBe(second);
  });
});

describe('runTaskInput', () => {
  it('given a backup job, when the input is built, then the worker container runs it on Fargate tagged with the backup', () => {
    // when
    const input = runTaskInput(backupJob, settings);

    // then
    expect(input).toEqual(expectedRunTask(backupJob, BACKUP_ID));
  });

  it('given a restore job and a public subnet, when the input is built, then it is tagged with the restore and gets a public IP', () => {
    // given
    const publicSettings: TaskSettings = { ...settings, network: { ...settings.network, assignPublicIp: true } };

    // when
    const input = runTaskInput(restoreJob, publicSettings);

    // then
    expect(input).toEqual(expectedRunTask(restoreJob, RESTORE_ID, 'ENABLED'));
  });
});

describe('workerLauncher', () => {
  describe('runner lambda', () => {
    it('given Lambda accepts the event, when a job is launched, then the volume function is invoked asynchronously with the job', async () => {
      // given an asynchronous invocation answers 202 Accepted
      lambda.on(InvokeCommand).resolves({ StatusCode: 202 });

      // when
      const launched = await launcher().launch(backupJob, { runner: 'lambda', volume: 'shop-uploads' });

      // then
      expect(launched).toEqual({});
      expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
      expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
        FunctionName: 'slipway-prod-volume-shop-uploads',
        InvocationType: 'Event',
        Payload: expect.any(Uint8Array),
      });
      expect(Object.keys(lambda.call(0).args[0].input).sort()).toEqual(['FunctionName', 'InvocationType', 'Payload']);
      expect(invokedPayload()).toEqual({ type: 'backup', backupId: BACKUP_ID });
      expect(ecs).toHaveReceivedCommandTimes(RunTaskCommand, 0);
    });

    it('given a volume with a long name, when a restore is launched, then the hashed function name is invoked', async () => {
      // given
      lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
      const volume = `uploads-${'a'.repeat(60)}`;

      // when
      await launcher().launch(restoreJob, { runner: 'lambda', volume });

      // then
      expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
        FunctionName: volumeFunctionName('slipway', 'prod', volume),
        InvocationType: 'Event',
      });
      expect(invokedPayload()).toEqual({ type: 'restore', restoreId: RESTORE_ID });
    });

    it.each([
      ['200 (a synchronous answer)', 200],
      ['no status code', undefined],
    ])('given Lambda answers %s, when a job is launched, then it fails upstream', async (_label, statusCode) => {
      // given
      lambda.on(InvokeCommand).resolves({ StatusCode: statusCode });

      // when
      const error = await rejectionOf(launcher().launch(backupJob, { runner: 'lambda', volume: 'shop-uploads' }));

      // then
      expect(error).toBeInstanceOf(UpstreamFailed);
      expect(error).toMatchObject({
        code: 'UPSTREAM_FAILED',
        status: 502,
        message: 'could not start slipway-prod-volume-shop-uploads (Error)',
      });
      expect((error.cause as Error).message).toBe(`Lambda answered ${statusCode}`);
    });

    it('given the function does not exist, when a job is launched, then it fails upstream naming the error, with the cause', async () => {
      // given
      const notFound = new ResourceNotFoundException({
        message: 'Function not found: arn:aws:lambda:us-east-1:123456789012:function:slipway-prod-volume-shop-uploads',
        $metadata: {},
      });
      lambda.on(InvokeCommand).rejects(notFound);

      // when
      const error = await rejectionOf(launcher().launch(backupJob, { runner: 'lambda', volume: 'shop-uploads' }));

      // then
      expect(error).toBeInstanceOf(UpstreamFailed);
      expect(error.message).toBe('could not start slipway-prod-volume-shop-uploads (ResourceNotFoundException)');
      expect(error.cause).toBe(notFound);
    });

    it('given no volume in the target, when a job is launched, then it fails without calling Lambda', async () => {
      // when
      const error = await rejectionOf(launcher().launch(backupJob, { runner: 'lambda' }));

      // then
      expect(error).toBeInstanceOf(UpstreamFailed);
      expect(error.message).toBe('a job for a volume function needs its volume');
      expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 0);
    });
  });

  describe('runner ecs', () => {
    it('given ECS places the task, when a job is launched, then RunTask gets the exact input and the task ARN comes back', async () => {
      // given
      ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN, lastStatus: 'PROVISIONING' }], failures: [] });

      // when
      const launched = await launcher().launch(backupJob, { runner: 'ecs' });

      // then
      expect(launched).toEqual({ taskArn: TASK_ARN });
      expect(ecs).toHaveReceivedCommandTimes(RunTaskCommand, 1);
      expect(ecs).toHaveReceivedCommandWith(RunTaskCommand, expectedRunTask(backupJob, BACKUP_ID));
      expect(ecs.call(0).args[0].input).toEqual(expectedRunTask(backupJob, BACKUP_ID));
      expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 0);
    });

    it('given ECS places a restore task, when it is launched, then the container is told to run the restore job', async () => {
      // given
      ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }] });

      // when
      const launched = await launcher().launch(restoreJob, { runner: 'ecs', volume: 'shop-uploads' });

      // then
      expect(launched).toEqual({ taskArn: TASK_ARN });
      expect(ecs).toHaveReceivedCommandWith(RunTaskCommand, expectedRunTask(restoreJob, RESTORE_ID));
    });

    it.each([
      [
        'a failure with reason and detail',
        { arn: CLUSTER, reason: 'RESOURCE:MEMORY', detail: 'not enough memory in the capacity provider' },
        'ECS did not start the worker task (RESOURCE:MEMORY: not enough memory in the capacity provider)',
      ],
      [
        'a failure with a reason only',
        { arn: 'arn:aws:ecs:us-east-1:123456789012:container-instance/slipway/abc', reason: 'AGENT' },
        'ECS did not start the worker task (AGENT)',
      ],
      ['a failure with neither', { arn: CLUSTER }, 'ECS did not start the worker task (refused)'],
    ])(
      'given RunTask answers %s and no task, when a job is launched, then it fails upstream with it',
      async (_label, failure, message) => {
        // given
        ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [failure] });

        // when
        const error = await rejectionOf(launcher().launch(backupJob, { runner: 'ecs' }));

        // then
        expect(error).toBeInstanceOf(UpstreamFailed);
        expect(error).toMatchObject({ code: 'UPSTREAM_FAILED', status: 502, message });
      },
    );

    it('given RunTask answers neither tasks nor failures, when a job is launched, then it fails upstream with no task', async () => {
      // given
      ecs.on(RunTaskCommand).resolves({});

      // when
      const error = await rejectionOf(launcher().launch(backupJob, { runner: 'ecs' }));

      // then
      expect(error).toBeInstanceOf(UpstreamFailed);
      expect(error.message).toBe('ECS did not start the worker task (no task)');
    });

    it('given the cluster does not exist, when a job is launched, then it fails upstream with the cause', async () => {
      // given
      const notFound = new ClusterNotFoundException({ message: 'Cluster not found.', $metadata: {} });
      ecs.on(RunTaskCommand).rejects(notFound);

      // when
      const error = await rejectionOf(launcher().launch(backupJob, { runner: 'ecs' }));

      // then
      expect(error).toBeInstanceOf(UpstreamFailed);
      expect(error.message).toBe('ECS did not start the worker task (Cluster not found.)');
      expect(error.cause).toBe(notFound);
    });

    it('given no worker task is deployed, when a job is launched, then it fails without calling ECS', async () => {
      // when
      const error = await rejectionOf(launcherWith(undefined).launch(backupJob, { runner: 'ecs' }));

      // then
      expect(error).toBeInstanceOf(UpstreamFailed);
      expect(error.message).toBe('no worker task is deployed: add a worker section to the config');
      expect(ecs).toHaveReceivedCommandTimes(RunTaskCommand, 0);
    });
  });
});
