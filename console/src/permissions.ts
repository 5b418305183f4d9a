import { authorizeScope } from '../../lib/auth/scope';
import { isInFlight, samePerson } from '../../lib/deploy/records';
import type { DeploymentRecord, Me } from './types';

/**
 * What the signed-in principal is offered: the server decides every action again, so these only
 * keep buttons away that would answer 403 or 409. Permissions and scope are the server's own rules
 * (GET /v1/me, lib/auth/scope.ts); the states are those the routes accept.
 */

export interface DeploymentActions {
  approve: boolean;
  cancel: boolean;
  rollback: boolean;
}

const inScope = (me: Me, deployment: Pick<DeploymentRecord, 'app' | 'environment'>) =>
  authorizeScope(me, { app: deployment.app, environment: deployment.environment }).allowed;

/** How a principal is told apart in approvals: its person, else its name (lib/deploy/records.ts samePerson). */
const asRequester = (me: Me) => ({
  name: me.name,
  kind: 'token' as const,
  ...(me.person ? { person: me.person } : {}),
});

export function deploymentActions(
  me: Me,
  deployment: Pick<DeploymentRecord, 'app' | 'environment' | 'state' | 'kind' | 'requestedBy' | 'approvals'>,
  now: number,
): DeploymentActions {
  const scoped = inScope(me, deployment);
  const waiting = deployment.state === 'PENDING_APPROVAL';
  const deadline = deployment.approvals.deadline;
  const open = waiting && (!deadline || Date.parse(deadline) > now);
  const self = asRequester(me);
  const approve =
    open &&
    scoped &&
    me.permissions.includes('approve') &&
    !samePerson(deployment.requestedBy, self) &&
    !deployment.approvals.by.some((approval) => samePerson(approval, self));
  const deploy = scoped && me.permissions.includes('deploy');
  return {
    approve,
    // Only a deployment still waiting can be cancelled; one rolling out on ECS is rolled back instead.
    cancel: deploy && waiting,
    // A rollback puts back what ran before a deploy or promotion that succeeded (lib/deploy/history.ts).
    rollback:
      deploy && deployment.state === 'SUCCEEDED' && (deployment.kind === 'deploy' || deployment.kind === 'promote'),
  };
}

/** Whether the deployment will change no more, so its page stops reading it again. */
export const isFinal = (deployment: Pick<DeploymentRecord, 'state'>) => !isInFlight(deployment.state);

export const canReadAudit = (me: Me) => me.permissions.includes('admin');

/**
 * The name the header shows: for an OIDC caller the value of its person claim (`oidc:host:sub=bob` →
 * `bob`), else the subject its name ends with; for a stored token its name.
 */
export function displayName(me: Pick<Me, 'name' | 'person' | 'issuer'>): string {
  if (me.person) {
    const equals = me.person.indexOf('=');
    if (equals >= 0) return me.person.slice(equals + 1);
  }
  if (me.issuer && me.name.startsWith('oidc:')) {
    const prefix = `oidc:${new URL(me.issuer).host}:`;
    if (me.name.startsWith(prefix)) return me.name.slice(prefix.length);
  }
  return me.name;
}
