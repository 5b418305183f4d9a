import type { Command } from './args';

/** What each command asks of the control plane: the routes and bodies of README's HTTP API. */

/** One HTTP request to the control plane. */
export interface ApiRequest {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string>;
  body?: Record<string, unknown>;
}

const segment = encodeURIComponent;
const environmentPath = (app: string, environment: string) =>
  `/v1/apps/${segment(app)}/environments/${segment(environment)}`;

function operation(command: { reason?: string; dryRun: boolean }): Record<string, unknown> {
  return {
    ...(command.reason !== undefined ? { reason: command.reason } : {}),
    ...(command.dryRun ? { dryRun: true } : {}),
  };
}

/** The (first) request a command makes. */
export function requestFor(command: Command): ApiRequest {
  switch (command.name) {
    case 'deploy':
      return {
        method: 'POST',
        path: '/v1/deployments',
        body: {
          app: command.app,
          environment: command.environment,
          ...(command.tag !== undefined ? { tag: command.tag } : {}),
          ...(command.digest !== undefined ? { digest: command.digest } : {}),
          ...operation(command),
        },
      };
    case 'status':
      return command.app !== undefined && command.environment !== undefined
        ? { method: 'GET', path: environmentPath(command.app, command.environment) }
        : { method: 'GET', path: '/v1/apps' };
    case 'history':
      return {
        method: 'GET',
        path: `${environmentPath(command.app, command.environment)}/deployments`,
        query: { limit: String(Math.min(command.limit, 100)) },
      };
    case 'approve':
    case 'cancel':
      return { method: 'POST', path: `/v1/deployments/${segment(command.id)}/${command.name}` };
    case 'rollback':
      return {
        method: 'POST',
        path: `${environmentPath(command.app, command.environment)}/rollback`,
        body: operation(command),
      };
    case 'promote':
      return {
        method: 'POST',
        path: `${environmentPath(command.app, command.environment)}/promote`,
        body: { ...(command.from !== undefined ? { from: command.from } : {}), ...operation(command) },
      };
    case 'backups': {
      const query: Record<string, string> = {};
      for (const key of ['database', 'volume', 'kind', 'status'] as const) {
        const value = command[key];
        if (value !== undefined) query[key] = value;
      }
      if (command.limit !== undefined) query.limit = String(command.limit);
      return { method: 'GET', path: '/v1/backups', query };
    }
    case 'backup':
      return {
        method: 'POST',
        path: '/v1/backups',
        body:
          command.target === 'volume'
            ? { volume: command.subject }
            : command.target === 'dump'
              ? { database: command.subject, kind: 'postgres-dump' }
              : { database: command.subject },
      };
    case 'restore':
      return { method: 'POST', path: '/v1/restores', body: { ...command.body } };
    case 'audit': {
      const query: Record<string, string> = {};
      if (command.since !== undefined) query.since = command.since;
      if (command.until !== undefined) query.until = command.until;
      Object.assign(query, command.filter);
      return { method: 'GET', path: '/v1/audit', query };
    }
    case 'sandbox-push':
    case 'sandbox-alarm':
      return { method: 'GET', path: '/health' };
  }
}
