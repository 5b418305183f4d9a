import { inAppPath, matchRoute, paths } from '../../../console/src/routes';

describe('the console’s paths', () => {
  it.each([
    ['/console', { page: 'board' }],
    ['/console/', { page: 'board' }],
    ['/console/apps/shop/environments/production', { page: 'environment', app: 'shop', env: 'production' }],
    ['/console/apps/shop/environments/production/', { page: 'environment', app: 'shop', env: 'production' }],
    [
      '/console/deployments/dep-5b0c2c4e-1f2a-4b3c-9d8e-7f6a5b4c3d2e',
      { page: 'deployment', id: 'dep-5b0c2c4e-1f2a-4b3c-9d8e-7f6a5b4c3d2e' },
    ],
    ['/console/backups', { page: 'backups' }],
    ['/console/audit', { page: 'audit' }],
    ['/console/callback', { page: 'callback' }],
  ])('shows %s as its page', (path, route) => {
    expect(matchRoute(path)).toEqual(route);
  });

  it.each([
    '/consoles',
    '/v1/apps',
    '/console/apps/shop',
    '/console/apps/shop/environments',
    '/console/apps/shop/deployments/production',
    '/console/deployments/',
    '/console/deployments/a/b',
    '/console//backups',
    '/console/apps/%E0%A4%A/environments/x',
  ])('finds no page at %s', (path) => {
    expect(matchRoute(path)).toEqual({ page: 'not-found', path });
  });

  it('writes the pages’ paths so that they read back as the same page', () => {
    expect(paths.environment('shop', 'eu west')).toBe('/console/apps/shop/environments/eu%20west');
    expect(matchRoute(paths.environment('shop', 'eu west'))).toEqual({
      page: 'environment',
      app: 'shop',
      env: 'eu west',
    });
    expect(matchRoute(paths.deployment('dep-1'))).toEqual({ page: 'deployment', id: 'dep-1' });
  });
});

describe('which link clicks stay in the page', () => {
  const origin = 'https://slipway.example.com';
  const click = { origin, button: 0, modified: false, defaultPrevented: false };

  it('keeps a plain click on a console link, with its query and fragment', () => {
    expect(inAppPath({ ...click, href: `${origin}/console/backups?x=1#shop` })).toBe('/console/backups?x=1#shop');
    expect(inAppPath({ ...click, href: '/console/audit' })).toBe('/console/audit');
  });

  it.each([
    ['another origin', { href: 'https://idp.example.com/console/' }],
    ['a path outside the console', { href: `${origin}/v1/openapi.json` }],
    ['an asset', { href: `${origin}/console/assets/app-X.js` }],
    ['a middle click', { href: `${origin}/console/`, button: 1 }],
    ['a click with a modifier (new tab)', { href: `${origin}/console/`, modified: true }],
    ['a link to another window', { href: `${origin}/console/`, target: '_blank' }],
    ['a download', { href: `${origin}/console/`, download: true }],
    ['a click something else handled', { href: `${origin}/console/`, defaultPrevented: true }],
  ])('leaves %s to the browser', (_case, change) => {
    expect(inAppPath({ ...click, ...change })).toBeUndefined();
  });
});
