import { readFileSync } from 'node:fs';
import {
  AccessDeniedException,
  DescribeServicesCommand,
  type DescribeServicesCommandOutput,
  DescribeTasksCommand,
  type DescribeTasksCommandOutput,
  ECSClient,
  ListTasksCommand,
  type ListTasksCommandOutput,
  ServerException,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import {
  type DiagnosisTarget,
  diagnoseFailure,
  type Gathered,
  MAX_STOPPED_TASK_PAGES,
  summarise,
} from '../../../lib/deploy/diagnosis';
import type { StoppedTask } from '../../../lib/deploy/records';

/** A fixture as the SDK returns it: the API's timestamps (every `...At` field) become Date objects. */
function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(`test/fixtures/ecs/${name}.json`, 'utf8'), (key, value) =>
    key.endsWith('At') && typeof value === 'string' ? new Date(value) : value,
  );
}

const CLUSTER = 'shop-prod';
const REVISION_42 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop-backend:42';
const TASK = 'arn:aws:ecs:us-east-1:123456789012:task/shop-prod';
const STOPPED_ARNS = [
  `${TASK}/5c2d9e7f1a3b4c6d8e0f2a4b6c8d0e1f`,
  `${TASK}/0f8e4b1c9a7d4e2f8b6c3a5d7e9f1b2c`,
  `${TASK}/a91b3d5f7e2c4a6b8d0f1e3c5a7b9d2e`,
];
const target: DiagnosisTarget = {
  cluster: CLUSTER,
  service: 'backend',
  taskDefinitionArn: REVISION_42,
  since: '2026-11-22T03:00:00.000Z',
};

const crashed = (id: string, stoppedAt: string): StoppedTask => ({
  taskArn: `${TASK}/${id}`,
  stoppedAt,
  stoppedReason: 'Essential container in task exited',
  stopCode: 'EssentialContainerExited',
  containers: [
    { name: 'log-router', exitCode: 0 },
    { name: 'backend', exitCode: 1 },
  ],
});

const ecs = mockClient(ECSClient);
const client = new ECSClient({ region: 'us-east-1' });

function ecsRemembersTheFailedDeployment(): void {
  ecs.on(DescribeServicesCommand).resolves(fixture<DescribeServicesCommandOutput>('describe-services.failing'));
  ecs.on(ListTasksCommand).resolves(fixture<ListTasksCommandOutput>('list-tasks.stopped'));
  ecs.on(DescribeTasksCommand).resolves(fixture<DescribeTasksCommandOutput>('describe-tasks.stopped'));
}

beforeEach(() => ecs.reset());

describe('diagnoseFailure', () => {
  it('names the crashing task and its exit code when a revision crash-loops', async () => {
    // Given ECS still holds the events and stopped tasks of a revision whose container exits with 1
    ecsRemembersTheFailedDeployment();

    // When the failure is diagnosed
    const diagnosis = await diagnoseFailure(client, target);

    // Then ECS is asked about the service, its stopped tasks, and those tasks, in that order
    expect(ecs).toHaveReceivedNthCommandWith(1, DescribeServicesCommand, { cluster: CLUSTER, services: ['backend'] });
    expect(ecs).toHaveReceivedNthCommandWith(2, ListTasksCommand, {
      cluster: CLUSTER,
      serviceName: 'backend',
      desiredStatus: 'STOPPED',
    });
    expect(ecs).toHaveReceivedNthCommandWith(3, DescribeTasksCommand, { cluster: CLUSTER, tasks: STOPPED_ARNS });
    // And nothing else is sent along
    expect(ecs.calls().map((call) => call.args[0].input)).toEqual([
      { cluster: CLUSTER, services: ['backend'] },
      { cluster: CLUSTER, serviceName: 'backend', desiredStatus: 'STOPPED' },
      { cluster: CLUSTER, tasks: STOPPED_ARNS },
    ]);
    // And the reason names the latest stopped task and the container that exited non-zero
    expect(diagnosis.reason).toBe(
      'task 5c2d9e7f1a3b4c6d8e0f2a4b6c8d0e1f stopped: Essential container in task exited (container backend exited with 1)',
    );
    expect(diagnosis.stoppedTasks).toEqual([
      crashed('5c2d9e7f1a3b4c6d8e0f2a4b6c8d0e1f', '2026-11-22T03:09:12.638Z'),
      crashed('0f8e4b1c9a7d4e2f8b6c3a5d7e9f1b2c', '2026-11-22T03:05:40.449Z'),
    ]);
  });

  it('keeps only the stopped tasks of the deployed revision, and all of them without one', async () => {
    // Given a task of the previous revision stopped after the new revision's tasks did
    ecsRemembersTheFailedDeployment();

    // When the failure is diagnosed with and without the revision
    const ofRevision = await diagnoseFailure(client, target);
    const ofAnyRevision = await diagnoseFailure(client, { ...target, taskDefinitionArn: undefined });

    // Then the revision's tasks alone are kept with it
    expect(ofRevision.stoppedTasks.map((task) => task.taskArn)).toEqual(STOPPED_ARNS.slice(0, 2));
    // And without it every stopped task is kept, the latest stopped first
    expect(ofAnyRevision.stoppedTasks.map((task) => task.taskArn)).toEqual([
      STOPPED_ARNS[2],
      STOPPED_ARNS[0],
      STOPPED_ARNS[1],
    ]);
    expect(ofAnyRevision.stoppedTasks[0]).toEqual({
      taskArn: STOPPED_ARNS[2],
      stoppedAt: '2026-11-22T03:10:05.318Z',
      stoppedReason:
        'Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-backend/6d0ecf831eec9f09)',
      stopCode: 'ServiceSchedulerInitiated',
      containers: [
        { name: 'log-router', exitCode: 0 },
        { name: 'backend', exitCode: 143 },
      ],
    });
  });

  it('drops service events from before the deployment and keeps the rest newest first', async () => {
    // Given events from the previous, successful deployment as well as this one, oldest first
    ecsRemembersTheFailedDeployment();
    const described = fixture<DescribeServicesCommandOutput>('describe-services.failing');
    described.services?.[0]?.events?.reverse();
    ecs.on(DescribeServicesCommand).resolves(described);

    // When the failure is diagnosed
    const diagnosis = await diagnoseFailure(client, target);

    // Then only the events since the deployment started are kept, newest first
    expect(diagnosis.serviceEvents).toEqual([
      {
        at: '2026-11-22T03:12:41.203Z',
        message: '(service backend) rolling back to deployment ecs-svc/2817465039182746503.',
      },
      {
        at: '2026-11-22T03:12:40.977Z',
        message: '(service backend) deployment ecs-svc/7483920165748392016 deployment failed: tasks failed to start.',
      },
      {
        at: '2026-11-22T03:08:02.644Z',
        message: '(service backend) has started 1 tasks: (task 5c2d9e7f1a3b4c6d8e0f2a4b6c8d0e1f).',
      },
      {
        at: '2026-11-22T03:04:31.090Z',
        message: '(service backend) has started 1 tasks: (task 0f8e4b1c9a7d4e2f8b6c3a5d7e9f1b2c).',
      },
    ]);
  });

  it('keeps at most maxEvents events and maxTasks tasks', async () => {
    // Given ECS remembers more than the limits allow
    ecsRemembersTheFailedDeployment();

    // When the failure is diagnosed with small limits
    const diagnosis = await diagnoseFailure(client, target, { maxEvents: 2, maxTasks: 1 });

    // Then the newest of each are kept
    expect(diagnosis.serviceEvents.map((event) => event.at)).toEqual([
      '2026-11-22T03:12:41.203Z',
      '2026-11-22T03:12:40.977Z',
    ]);
    expect(diagnosis.stoppedTasks.map((task) => task.taskArn)).toEqual([STOPPED_ARNS[0]]);
  });

  it('does not describe tasks when ECS lists no stopped tasks', async () => {
    // Given the stopped tasks have aged out of ECS
    ecs.on(DescribeServicesCommand).resolves(fixture<DescribeServicesCommandOutput>('describe-services.failing'));
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });

    // When the failure is diagnosed
    const diagnosis = await diagnoseFailure(client, target);

    // Then no DescribeTasks call is made
    expect(ecs).toHaveReceivedCommandTimes(ListTasksCommand, 1);
    expect(ecs).not.toHaveReceivedCommand(DescribeTasksCommand);
    // And the newest service event stands as the reason
    expect(diagnosis).toEqual({
      reason: '(service backend) rolling back to deployment ecs-svc/2817465039182746503.',
      serviceEvents: expect.any(Array),
      stoppedTasks: [],
    });
    expect(diagnosis.serviceEvents).toHaveLength(4);
  });

  describe('reading more stopped tasks than one page holds', () => {
    // ECS API Reference: ListTasks answers up to 100 task ARNs a page with a nextToken for the next;
    // DescribeTasks takes up to 100 tasks a call.
    const REVISION_41 = REVISION_42.replace(/:42$/, ':41');
    const arn = (page: number, index: number) =>
      `${TASK}/${String(page).padStart(4, '0')}${String(index).padStart(28, '0')}`;
    const revisionOf = new Map<string, string>();

    /** ECS listing `pages` of stopped tasks, page by page, each task of the revision `revisionFor` says. */
    function ecsListsPages(pages: number, revisionFor: (page: number, index: number) => string, perPage = 100) {
      ecs.on(DescribeServicesCommand).resolves(fixture<DescribeServicesCommandOutput>('describe-services.failing'));
      ecs.on(ListTasksCommand).callsFake((input) => {
        const page = input.nextToken ? Number(input.nextToken.replace('page-', '')) : 1;
        const taskArns = Array.from({ length: perPage }, (_, index) => {
          const taskArn = arn(page, index);
          revisionOf.set(taskArn, revisionFor(page, index));
          return taskArn;
        });
        return { taskArns, ...(page < pages ? { nextToken: `page-${page + 1}` } : {}) };
      });
      ecs.on(DescribeTasksCommand).callsFake((input) => ({
        tasks: (input.tasks ?? []).map((taskArn: string, index: number) => ({
          taskArn,
          taskDefinitionArn: revisionOf.get(taskArn),
          stoppedAt: new Date(Date.parse('2026-11-22T03:09:00.000Z') - index * 1_000),
          stoppedReason: 'Essential container in task exited',
          containers: [{ name: 'backend', exitCode: 1 }],
        })),
        failures: [],
      }));
    }

    it("pages ListTasks until it finds the revision's stopped tasks, describing each page in one call", async () => {
      // Given a first page of the previous revision's stopped tasks, and the new revision's on the second
      ecsListsPages(2, (page, index) => (page === 2 && index < 3 ? REVISION_42 : REVISION_41));

      // When the failure is diagnosed
      const diagnosis = await diagnoseFailure(client, target);

      // Then both pages were read, the second with the first's nextToken, and each described in one call
      expect(ecs.commandCalls(ListTasksCommand).map((call) => call.args[0].input)).toEqual([
        { cluster: CLUSTER, serviceName: 'backend', desiredStatus: 'STOPPED' },
        { cluster: CLUSTER, serviceName: 'backend', desiredStatus: 'STOPPED', nextToken: 'page-2' },
      ]);
      expect(ecs.commandCalls(DescribeTasksCommand).map((call) => call.args[0].input.tasks?.length)).toEqual([
        100, 100,
      ]);
      // And the new revision's tasks are the ones kept
      expect(diagnosis.stoppedTasks.map((task) => task.taskArn)).toEqual([arn(2, 0), arn(2, 1), arn(2, 2)]);
    });

    it("stops paging once it holds maxTasks of the revision's tasks", async () => {
      // Given the new revision's tasks fill the first of many pages
      ecsListsPages(5, () => REVISION_42);

      // When the failure is diagnosed
      const diagnosis = await diagnoseFailure(client, target);

      // Then one page was enough
      expect(ecs).toHaveReceivedCommandTimes(ListTasksCommand, 1);
      expect(diagnosis.stoppedTasks).toHaveLength(5);
    });

    it(`reads at most ${MAX_STOPPED_TASK_PAGES} pages when none of them holds the revision's tasks`, async () => {
      // Given page after page of another revision's stopped tasks
      ecsListsPages(50, () => REVISION_41);

      // When the failure is diagnosed
      const diagnosis = await diagnoseFailure(client, target);

      // Then the reading stops at the bound, with no more than 100 tasks in any DescribeTasks call
      expect(ecs).toHaveReceivedCommandTimes(ListTasksCommand, MAX_STOPPED_TASK_PAGES);
      expect(ecs).toHaveReceivedCommandTimes(DescribeTasksCommand, MAX_STOPPED_TASK_PAGES);
      expect(diagnosis.stoppedTasks).toEqual([]);
      // And the reason falls back to the service events
      expect(diagnosis.reason).toBe('(service backend) rolling back to deployment ecs-svc/2817465039182746503.');
    });
  });

  it('returns, never throws, when ECS refuses to describe the service', async () => {
    // Given the role may not call DescribeServices
    ecs.on(DescribeServicesCommand).rejects(
      new AccessDeniedException({
        message:
          'User: arn:aws:sts::123456789012:assumed-role/slipway-prod-watcher/slipway-prod-watch is not authorized to perform: ecs:DescribeServices on resource: arn:aws:ecs:us-east-1:123456789012:service/shop-prod/backend because no identity-based policy allows the ecs:DescribeServices action',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    // When the failure is diagnosed
    const diagnosis = await diagnoseFailure(client, target);

    // Then the diagnosis says details could not be read, by error name and without the long message
    expect(diagnosis).toEqual({
      reason: 'details could not be read from ECS (AccessDeniedException)',
      serviceEvents: [],
      stoppedTasks: [],
    });
    expect(diagnosis.reason).not.toContain('not authorized');
    // And it stops asking once a call fails
    expect(ecs).not.toHaveReceivedCommand(ListTasksCommand);
  });

  it('keeps what was read before a later call failed', async () => {
    // Given ECS describes the service but then fails to describe its tasks
    ecs.on(DescribeServicesCommand).resolves(fixture<DescribeServicesCommandOutput>('describe-services.failing'));
    ecs.on(ListTasksCommand).resolves(fixture<ListTasksCommandOutput>('list-tasks.stopped'));
    ecs.on(DescribeTasksCommand).rejects(new ServerException({ message: 'Service Unavailable', $metadata: {} }));

    // When the failure is diagnosed
    const diagnosis = await diagnoseFailure(client, target);

    // Then the events gathered so far are kept and the reason notes what could not be read
    expect(diagnosis.serviceEvents).toHaveLength(4);
    expect(diagnosis.stoppedTasks).toEqual([]);
    expect(diagnosis.reason).toBe(
      '(service backend) rolling back to deployment ecs-svc/2817465039182746503; further details could not be read from ECS (ServerException)',
    );
  });

  it('prefers the reason from the ECS event over anything it reads', async () => {
    // Given the ECS event that reported the failure carried a reason
    ecsRemembersTheFailedDeployment();
    const eventReason = 'ECS deployment circuit breaker: tasks failed to start.';

    // When the failure is diagnosed
    const diagnosis = await diagnoseFailure(client, { ...target, eventReason });

    // Then that reason wins, and the evidence is still gathered
    expect(diagnosis.reason).toBe(eventReason);
    expect(diagnosis.stoppedTasks).toHaveLength(2);
    expect(diagnosis.serviceEvents).toHaveLength(4);
  });
});

describe('summarise', () => {
  const event = {
    at: '2026-11-22T03:12:40.977Z',
    message: '(service backend) deployment failed: tasks failed to start.',
  };
  const nothing: Gathered = { serviceEvents: [], stoppedTasks: [] };

  it('prefers the event reason, on one line', () => {
    expect(
      summarise({
        eventReason: 'ECS deployment circuit breaker:\n  tasks failed to start.',
        serviceEvents: [event],
        stoppedTasks: [crashed('5c2d9e7f1a3b4c6d8e0f2a4b6c8d0e1f', '2026-11-22T03:09:12.638Z')],
      }),
    ).toBe('ECS deployment circuit breaker: tasks failed to start.');
  });

  it('adds the container reason to its exit code', () => {
    const task: StoppedTask = {
      taskArn: `${TASK}/0f8e4b1c9a7d4e2f8b6c3a5d7e9f1b2c`,
      stoppedReason: 'Essential container in task exited',
      containers: [
        { name: 'backend', exitCode: 137, reason: 'OutOfMemoryError: Container killed due to memory usage' },
      ],
    };

    expect(summarise({ ...nothing, stoppedTasks: [task] })).toBe(
      'task 0f8e4b1c9a7d4e2f8b6c3a5d7e9f1b2c stopped: Essential container in task exited (container backend exited with 137: OutOfMemoryError: Container killed due to memory usage)',
    );
  });

  it('says only why the task stopped when no container exited non-zero', () => {
    const task: StoppedTask = {
      taskArn: `${TASK}/0f8e4b1c9a7d4e2f8b6c3a5d7e9f1b2c`,
      stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 7 time(s): not found',
      stopCode: 'TaskFailedToStart',
      containers: [{ name: 'backend', reason: 'CannotPullContainerError: not found' }],
    };

    expect(summarise({ ...nothing, stoppedTasks: [task] })).toBe(
      'task 0f8e4b1c9a7d4e2f8b6c3a5d7e9f1b2c stopped: CannotPullContainerError: pull image manifest has been retried 7 time(s): not found',
    );
  });

  it('falls back to the stop code when ECS gave no stopped reason', () => {
    const task: StoppedTask = { taskArn: `${TASK}/0f8e`, stopCode: 'SpotInterruption', containers: [] };

    expect(summarise({ ...nothing, stoppedTasks: [task] })).toBe('task 0f8e stopped: SpotInterruption');
  });

  it('uses the newest service event when no task is known', () => {
    expect(summarise({ ...nothing, serviceEvents: [event] })).toBe(event.message);
  });

  it('says ECS gave no reason when it knows nothing', () => {
    expect(summarise(nothing)).toBe('ECS gave no reason');
  });

  it('notes an unreadable detail after what it knows', () => {
    expect(summarise({ ...nothing, eventReason: 'tasks failed to start.', unreadable: 'ThrottlingException' })).toBe(
      'tasks failed to start; further details could not be read from ECS (ThrottlingException)',
    );
  });
});
