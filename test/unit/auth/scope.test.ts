import type { Principal } from '../../../lib/auth/principal';
import {
  authorizeScope,
  isScoped,
  principalLabel,
  requireScope,
  requireUnscoped,
  visibleApps,
} from '../../../lib/auth/scope';
import { Forbidden, type SlipwayError, Unauthenticated } from '../../../lib/errors';
import { thrown } from '../../support/thrown';

const unscoped: Principal = { name: 'ops', roles: ['admin'] };
const ci: Principal = { name: 'ci', roles: ['deployer'], scope: { apps: ['shop'] } };
const staging: Principal = { name: 'ci', roles: ['deployer'], scope: { environments: ['staging'] } };
const shopStaging: Principal = {
  name: 'ci',
  roles: ['deployer'],
  scope: { apps: ['shop'], environments: ['staging', 'qa'] },
};
const github: Principal = {
  name: 'oidc:token.actions.githubusercontent.com:repo:org/shop:ref:refs/heads/main',
  roles: ['deployer'],
  scope: { apps: ['shop'], excludeEnvironments: ['production'] },
  issuer: 'https://token.actions.githubusercontent.com',
};

describe('authorizeScope', () => {
  it.each([
    ['an unscoped principal, any app', unscoped, { app: 'billing', environment: 'production' }],
    ['an unscoped principal, no environment named', unscoped, { app: 'billing' }],
    ['an app-scoped token, its app in any environment', ci, { app: 'shop', environment: 'production' }],
    ['an app-scoped token, its app with no environment named', ci, { app: 'shop' }],
    ['an environment-scoped token, any app in its environment', staging, { app: 'billing', environment: 'staging' }],
    ['both limits, inside both', shopStaging, { app: 'shop', environment: 'qa' }],
    ['an exclusion, another environment', github, { app: 'shop', environment: 'staging' }],
  ])('allows %s', (_case, principal, target) => {
    expect(authorizeScope(principal, target)).toEqual({ allowed: true });
  });

  it('refuses another app, naming the scope and what was asked', () => {
    expect(authorizeScope(ci, { app: 'billing', environment: 'staging' })).toEqual({
      allowed: false,
      message: 'token ci may act on apps shop only, not billing',
      details: { scope: { apps: ['shop'] }, requested: { app: 'billing', environment: 'staging' } },
    });
  });

  it('refuses another environment', () => {
    expect(authorizeScope(staging, { app: 'shop', environment: 'production' })).toEqual({
      allowed: false,
      message: 'token ci may act on environments staging only, not production',
      details: { scope: { environments: ['staging'] }, requested: { app: 'shop', environment: 'production' } },
    });
  });

  it('checks the app before the environment', () => {
    const decision = authorizeScope(shopStaging, { app: 'billing', environment: 'production' });
    expect(decision.allowed === false && decision.message).toBe('token ci may act on apps shop only, not billing');
  });

  it('refuses an excluded environment, naming the OIDC caller by its own name', () => {
    expect(authorizeScope(github, { app: 'shop', environment: 'production' })).toEqual({
      allowed: false,
      message: `${github.name} may not act on environment production: its scope excludes production`,
      details: {
        scope: { apps: ['shop'], excludeEnvironments: ['production'] },
        requested: { app: 'shop', environment: 'production' },
      },
    });
  });

  it('refuses an environment the request does not name to a principal limited to some environments', () => {
    const decision = authorizeScope(github, { app: 'shop' });
    expect(decision).toMatchObject({ allowed: false, details: { requested: { app: 'shop' } } });
    expect(decision.allowed === false && decision.message).toMatch(
      /does not name the environment it reads; name it \(for a promotion, in "from"\)$/,
    );
  });

  it('treats an empty scope object as no scope', () => {
    expect(isScoped({ name: 'x', roles: ['viewer'], scope: {} })).toBe(false);
    expect(isScoped(ci)).toBe(true);
    expect(authorizeScope({ name: 'x', roles: ['viewer'], scope: {} }, { app: 'a', environment: 'b' })).toEqual({
      allowed: true,
    });
  });
});

describe('requireScope', () => {
  it('throws 403 FORBIDDEN with details {scope, requested}', () => {
    const error = thrown<SlipwayError>(() => requireScope(ci, { app: 'billing', environment: 'staging' }));
    expect(error).toBeInstanceOf(Forbidden);
    expect(error).toMatchObject({
      status: 403,
      message: 'token ci may act on apps shop only, not billing',
      details: { scope: { apps: ['shop'] }, requested: { app: 'billing', environment: 'staging' } },
    });
  });

  it('returns for a target in scope', () => {
    expect(() => requireScope(ci, { app: 'shop', environment: 'production' })).not.toThrow();
  });

  it('refuses a missing principal rather than waving it through', () => {
    expect(thrown<SlipwayError>(() => requireScope(undefined, { app: 'shop', environment: 'staging' }))).toBeInstanceOf(
      Unauthenticated,
    );
  });
});

describe('requireUnscoped', () => {
  it('lets a principal without a scope through', () => {
    expect(() => requireUnscoped(unscoped, 'backups')).not.toThrow();
  });

  it.each([
    ['apps', ci],
    ['environments', staging],
    ['excludeEnvironments', github],
  ])('refuses a principal limited by %s, naming what it asked for', (_key, principal) => {
    const error = thrown<SlipwayError>(() => requireUnscoped(principal, 'backups'));
    expect(error).toBeInstanceOf(Forbidden);
    expect(error.message).toBe(
      `${principalLabel(principal)} is limited to some apps or environments, so it may not use backups, which belong to no app; only a principal without a scope may`,
    );
    expect(error.details).toEqual({ scope: principal.scope, requested: { route: 'backups' } });
  });
});

describe('visibleApps', () => {
  const apps = [
    { name: 'shop', repository: 'r', environments: [{ name: 'staging' }, { name: 'qa' }, { name: 'production' }] },
    { name: 'billing', repository: 'r', environments: [{ name: 'staging' }, { name: 'production' }] },
    { name: 'reports', repository: 'r', environments: [{ name: 'production' }] },
  ];
  const names = (listed: typeof apps) => listed.map((app) => [app.name, app.environments.map((env) => env.name)]);

  it('shows everything to an unscoped principal', () => {
    expect(visibleApps(unscoped, apps)).toEqual(apps);
  });

  it('shows only the apps of an app scope, with all their environments', () => {
    expect(names(visibleApps(ci, apps))).toEqual([['shop', ['staging', 'qa', 'production']]]);
  });

  it('shows only the environments of an environment scope, and leaves out apps with none of them', () => {
    expect(names(visibleApps(staging, apps))).toEqual([
      ['shop', ['staging']],
      ['billing', ['staging']],
    ]);
  });

  it('applies exclusions', () => {
    expect(names(visibleApps(github, apps))).toEqual([['shop', ['staging', 'qa']]]);
  });

  it('keeps the other fields of each app and leaves its input alone', () => {
    const listed = visibleApps(shopStaging, apps);
    expect(listed[0]).toEqual({ name: 'shop', repository: 'r', environments: [{ name: 'staging' }, { name: 'qa' }] });
    expect(apps[0]?.environments).toHaveLength(3);
  });
});

describe('principal labels', () => {
  it('labels a stored token as token <name> and an OIDC caller by its full name', () => {
    expect(principalLabel(ci)).toBe('token ci');
    expect(principalLabel(github)).toBe(github.name);
  });
});
