import { makeHandler } from '../../../functions/http/get-me';
import { hashToken, mintToken } from '../../../lib/auth/tokens';
import { httpEvent, lambdaContext, memoryTokenSource } from '../../support/http';

/** GET /v1/me through its real chain: the caller as every other route judges it, for the console's buttons. */

const stored = memoryTokenSource();
const handler = makeHandler({ tokens: stored.source });

async function me(token: string | null) {
  const response = await handler(httpEvent('get-me', { token }), lambdaContext());
  return { status: response.statusCode, body: JSON.parse(response.body ?? 'null') };
}

describe('GET /v1/me', () => {
  it.each([
    ['viewer', ['read']],
    ['deployer', ['read', 'deploy']],
    ['approver', ['read', 'approve']],
    ['admin', ['read', 'deploy', 'approve', 'admin']],
  ] as const)('tells a %s its name, roles and the permissions they grant', async (role, permissions) => {
    expect(await me(stored.tokens[role])).toEqual({
      status: 200,
      body: { principal: { name: `test-${role}`, roles: [role], permissions } },
    });
  });

  it('tells a scoped token the apps and environments it may act on', async () => {
    // Given a token limited to shop's staging, as `npm run token -- --app shop --environment staging` writes it
    const token = mintToken();
    stored.entries.push({
      name: 'shop-staging-ci',
      sha256: hashToken(token),
      roles: ['deployer'],
      apps: ['shop'],
      environments: ['staging'],
      createdAt: '2026-11-22T03:00:00.000Z',
    });
    // Then its scope is in the answer, as the routes apply it
    expect((await me(token)).body.principal).toEqual({
      name: 'shop-staging-ci',
      roles: ['deployer'],
      permissions: ['read', 'deploy'],
      scope: { apps: ['shop'], environments: ['staging'] },
    });
  });

  it('answers 401 without a token, and for a token it does not know', async () => {
    expect((await me(null)).status).toBe(401);
    expect(await me(mintToken())).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
  });
});
