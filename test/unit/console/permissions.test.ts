import { canReadAudit, deploymentActions, displayName, isFinal } from '../../../console/src/permissions';
import type { DeploymentRecord, Me } from '../../../console/src/types';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const alice = 'oidc:idp.example.com:sub=alice';
const bob = 'oidc:idp.example.com:sub=bob';

const me = (roles: Me['roles'], extra: Partial<Me> = {}): Me => {
  const permissions = new Set<Me['permissions'][number]>(['read']);
  if (roles.includes('deployer') || roles.includes('admin')) permissions.add('deploy');
  if (roles.includes('approver') || roles.includes('admin')) permissions.add('approve');
  if (roles.includes('admin')) permissions.add('admin');
  return {
    name: 'oidc:idp.example.com:bob-laptop',
    roles,
    permissions: [...permissions],
    issuer: 'https://idp.example.com',
    person: bob,
    ...extra,
  };
};

type Actionable = Parameters<typeof deploymentActions>[1];
const deployment = (change: Partial<Actionable> = {}): Actionable => ({
  app: 'shop',
  environment: 'production',
  state: 'PENDING_APPROVAL',
  kind: 'deploy',
  requestedBy: { name: 'oidc:idp.example.com:alice-laptop', kind: 'token', person: alice },
  approvals: { required: 2, deadline: '2026-12-07T12:00:00Z', by: [] },
  ...change,
});

describe('which buttons a deployment shows', () => {
  it('offers Approve and Cancel to an admin on a deployment waiting for approval', () => {
    expect(deploymentActions(me(['admin']), deployment(), NOW)).toEqual({
      approve: true,
      cancel: true,
      rollback: false,
    });
  });

  it.each([
    ['a viewer', me(['viewer']), { approve: false, cancel: false, rollback: false }],
    ['an approver', me(['approver']), { approve: true, cancel: false, rollback: false }],
    ['a deployer', me(['deployer']), { approve: false, cancel: true, rollback: false }],
  ])('follows the permissions of %s', (_case, principal, actions) => {
    expect(deploymentActions(principal, deployment(), NOW)).toEqual(actions);
  });

  it('offers nothing outside the scope: another app, another environment, an excluded environment', () => {
    const none = { approve: false, cancel: false, rollback: false };
    for (const scope of [
      { apps: ['billing'] },
      { environments: ['staging'] },
      { excludeEnvironments: ['production'] },
    ]) {
      expect(deploymentActions(me(['admin'], { scope }), deployment(), NOW)).toEqual(none);
    }
    // and inside it, everything its roles allow
    const inside = me(['admin'], { scope: { apps: ['shop'], excludeEnvironments: ['staging'] } });
    expect(deploymentActions(inside, deployment(), NOW)).toEqual({ approve: true, cancel: true, rollback: false });
  });

  it('does not offer Approve to the requester, by person or, for a stored token, by name', () => {
    // given the same person asking from another branch name
    const requester = me(['admin'], { name: 'oidc:idp.example.com:alice-desktop', person: alice });
    expect(deploymentActions(requester, deployment(), NOW).approve).toBe(false);
    // given a stored token that requested it
    const token = me(['admin'], { name: 'release-bot', person: undefined, issuer: undefined });
    const byToken = deployment({ requestedBy: { name: 'release-bot', kind: 'token' } });
    expect(deploymentActions(token, byToken, NOW).approve).toBe(false);
  });

  it('does not offer Approve to whoever approved already', () => {
    const approved = deployment({
      approvals: {
        required: 2,
        by: [{ by: 'oidc:idp.example.com:bob-phone', at: '2026-12-06T11:00:00Z', person: bob }],
      },
    });
    expect(deploymentActions(me(['approver']), approved, NOW).approve).toBe(false);
    // while someone else's approval leaves it open
    const other = deployment({
      approvals: { required: 2, by: [{ by: 'carol', at: '2026-12-06T11:00:00Z' }] },
    });
    expect(deploymentActions(me(['approver']), other, NOW).approve).toBe(true);
  });

  it('does not offer Approve past the approval deadline, where the API answers that it expired', () => {
    const late = deployment({ approvals: { required: 1, deadline: '2026-12-06T11:59:59Z', by: [] } });
    expect(deploymentActions(me(['approver']), late, NOW).approve).toBe(false);
  });

  it.each([
    ['IN_PROGRESS', 'deploy', { approve: false, cancel: false, rollback: false }],
    ['SUCCEEDED', 'deploy', { approve: false, cancel: false, rollback: true }],
    ['SUCCEEDED', 'promote', { approve: false, cancel: false, rollback: true }],
    ['SUCCEEDED', 'restart', { approve: false, cancel: false, rollback: false }],
    ['SUCCEEDED', 'rollback', { approve: false, cancel: false, rollback: false }],
    ['FAILED', 'deploy', { approve: false, cancel: false, rollback: false }],
    ['ROLLED_BACK', 'deploy', { approve: false, cancel: false, rollback: false }],
    ['CANCELLED', 'deploy', { approve: false, cancel: false, rollback: false }],
    ['EXPIRED', 'deploy', { approve: false, cancel: false, rollback: false }],
    ['TIMED_OUT', 'deploy', { approve: false, cancel: false, rollback: false }],
  ] as const)('offers an admin only what %s (%s) admits', (state, kind, actions) => {
    expect(deploymentActions(me(['admin']), deployment({ state, kind }), NOW)).toEqual(actions);
  });

  it('stops reading a deployment once its state is final', () => {
    expect(isFinal({ state: 'PENDING_APPROVAL' })).toBe(false);
    expect(isFinal({ state: 'IN_PROGRESS' })).toBe(false);
    for (const state of ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'TIMED_OUT', 'CANCELLED', 'EXPIRED'] as const) {
      expect(isFinal({ state })).toBe(true);
    }
  });
});

describe('the header and the navigation', () => {
  it('names an OIDC caller by its person claim, else its subject; a token by its name', () => {
    expect(displayName(me(['viewer']))).toBe('bob');
    expect(displayName({ name: 'oidc:idp.example.com:1234', issuer: 'https://idp.example.com' })).toBe('1234');
    expect(displayName({ name: 'ci-deployer' })).toBe('ci-deployer');
  });

  it('links the audit trail for admins only', () => {
    expect(canReadAudit(me(['admin']))).toBe(true);
    expect(canReadAudit(me(['approver']))).toBe(false);
  });
});

// The type keeps the fixture honest against the record the API sends.
const _record: Pick<DeploymentRecord, keyof Actionable> = deployment();
void _record;
