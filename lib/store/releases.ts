import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, paginateQuery, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ScanCounts } from '../release/records';
import { putNew } from './conditional';

/**
 * Releases a push asked for that cannot deploy yet: waiting for their soak time, for the
 * image scan, or for the deployment in flight to end. While waiting they sit in one
 * partition of the byEnvironment index ordered by when they are due, so the schedule that
 * releases them reads only what is due; once done they leave it and expire with the TTL.
 */

export type ReleaseState = 'WAITING' | 'DEPLOYED' | 'REFUSED';

export interface PendingRelease {
  app: string;
  environment: string;
  repository: string;
  digest: string;
  tag: string;
  /** Who pushed, as deployments record it: `ecr-push` or `webhook:<registry>`. */
  source: string;
  state: ReleaseState;
  /** Why it waits or how it ended, one line. */
  reason: string;
  pushedAt: string;
  dueAt: string;
  /** Set when the policy has maxFindings: the scan must arrive before this. */
  scanDeadline?: string;
  scan?: { counts: ScanCounts; at: string };
  deploymentId?: string;
  createdAt: string;
  updatedAt: string;
}

const WAITING_PARTITION = 'PENDING_RELEASES';
const DONE_RETENTION_SECONDS = 30 * 24 * 3600;

export const releaseKey = (release: Pick<PendingRelease, 'repository' | 'digest' | 'app' | 'environment'>) => ({
  pk: `RELEASE#${release.repository}@${release.digest}`,
  sk: `ENV#${release.app}#${release.environment}`,
});

const sortKey = (release: PendingRelease) =>
  `${release.dueAt}#${release.repository}@${release.digest}#${release.app}#${release.environment}`;

function toRelease(item: Record<string, unknown>): PendingRelease {
  const { pk: _pk, sk: _sk, environmentKey: _e, environmentSortKey: _s, type: _t, expiresAt: _x, ...release } = item;
  return release as unknown as PendingRelease;
}

export class ReleaseStore {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Records a waiting release; a duplicate push of one already waiting or ended changes nothing. */
  async wait(release: PendingRelease): Promise<boolean> {
    return putNew(this.documents, {
      TableName: this.tableName,
      Item: {
        ...releaseKey(release),
        type: 'release',
        ...release,
        environmentKey: WAITING_PARTITION,
        environmentSortKey: sortKey(release),
      },
    });
  }

  /** Records a release refused at once (its scan was already over the limits); a duplicate changes nothing. */
  async refused(release: PendingRelease, at: Date): Promise<boolean> {
    return putNew(this.documents, {
      TableName: this.tableName,
      Item: {
        ...releaseKey(release),
        type: 'release',
        ...release,
        state: 'REFUSED',
        expiresAt: Math.floor(at.getTime() / 1000) + DONE_RETENTION_SECONDS,
      },
    });
  }

  async forDigest(repository: string, digest: string): Promise<PendingRelease[]> {
    const { Items } = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `RELEASE#${repository}@${digest}` },
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).map(toRelease);
  }

  /** Waiting releases due at or before `now`, soonest first. */
  async due(now: Date): Promise<PendingRelease[]> {
    const due: PendingRelease[] = [];
    const pages = paginateQuery(
      { client: this.documents },
      {
        TableName: this.tableName,
        IndexName: 'byEnvironment',
        KeyConditionExpression: 'environmentKey = :waiting AND environmentSortKey <= :now',
        // Keys start with the ISO due time: everything due by `now` sorts before `now` followed by the highest character.
        ExpressionAttributeValues: { ':waiting': WAITING_PARTITION, ':now': `${now.toISOString()}\uffff` },
      },
    );
    for await (const page of pages) due.push(...(page.Items ?? []).map(toRelease));
    return due.filter((release) => release.state === 'WAITING');
  }

  /** Changes a waiting release (its due time, its scan); false when it is no longer waiting. */
  async update(
    release: PendingRelease,
    changes: Partial<Pick<PendingRelease, 'dueAt' | 'scan' | 'reason'>>,
    at: string,
  ) {
    const next = { ...release, ...changes, updatedAt: at };
    return this.conditional(release, {
      set: { ...changes, updatedAt: at, environmentSortKey: sortKey(next) },
    });
  }

  /** Ends a waiting release, once: false when it had already ended. */
  async end(
    release: PendingRelease,
    outcome: { state: 'DEPLOYED' | 'REFUSED'; reason: string; deploymentId?: string; scan?: PendingRelease['scan'] },
    at: Date,
  ): Promise<boolean> {
    return this.conditional(release, {
      set: {
        state: outcome.state,
        reason: outcome.reason,
        updatedAt: at.toISOString(),
        expiresAt: Math.floor(at.getTime() / 1000) + DONE_RETENTION_SECONDS,
        ...(outcome.deploymentId ? { deploymentId: outcome.deploymentId } : {}),
        ...(outcome.scan ? { scan: outcome.scan } : {}),
      },
      remove: ['environmentKey', 'environmentSortKey'],
    });
  }

  private async conditional(
    release: PendingRelease,
    change: { set: Record<string, unknown>; remove?: string[] },
  ): Promise<boolean> {
    const names: Record<string, string> = { '#state': 'state' };
    const values: Record<string, unknown> = { ':waiting': 'WAITING' };
    const sets = Object.entries(change.set).map(([field, value], index) => {
      names[`#s${index}`] = field;
      values[`:s${index}`] = value;
      return `#s${index} = :s${index}`;
    });
    const removes = (change.remove ?? []).map((field, index) => {
      names[`#r${index}`] = field;
      return `#r${index}`;
    });
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: releaseKey(release),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: '#state = :waiting',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
