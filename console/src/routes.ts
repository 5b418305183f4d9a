/**
 * The console's paths (history API, under /console/): which page a path is, the paths of the pages,
 * and which link clicks the console handles itself rather than letting the browser load a page.
 */

export type Route =
  | { page: 'board' }
  | { page: 'environment'; app: string; env: string }
  | { page: 'deployment'; id: string }
  | { page: 'backups' }
  | { page: 'audit' }
  | { page: 'callback' }
  | { page: 'not-found'; path: string };

export const BASE = '/console';

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The page a path shows; one trailing slash is allowed, anything outside /console is not found. */
export function matchRoute(pathname: string): Route {
  const notFound: Route = { page: 'not-found', path: pathname };
  if (pathname !== BASE && !pathname.startsWith(`${BASE}/`)) return notFound;
  const rest = pathname.slice(BASE.length).replace(/\/$/, '');
  const parts = rest === '' ? [] : rest.slice(1).split('/').map(decode);
  if (parts.some((part) => part === undefined || part === '')) return notFound;
  const [first, second, third, fourth] = parts as string[];
  switch (parts.length) {
    case 0:
      return { page: 'board' };
    case 1:
      if (first === 'backups') return { page: 'backups' };
      if (first === 'audit') return { page: 'audit' };
      if (first === 'callback') return { page: 'callback' };
      return notFound;
    case 2:
      return first === 'deployments' && second ? { page: 'deployment', id: second } : notFound;
    case 4:
      return first === 'apps' && third === 'environments' && second && fourth
        ? { page: 'environment', app: second, env: fourth }
        : notFound;
    default:
      return notFound;
  }
}

const segment = encodeURIComponent;

export const paths = {
  board: () => `${BASE}/`,
  environment: (app: string, env: string) => `${BASE}/apps/${segment(app)}/environments/${segment(env)}`,
  deployment: (id: string) => `${BASE}/deployments/${segment(id)}`,
  backups: () => `${BASE}/backups`,
  audit: () => `${BASE}/audit`,
};

/** A click on a link, as much of it as decides who handles it. */
export interface LinkClick {
  href: string;
  origin: string;
  button: number;
  modified: boolean;
  defaultPrevented: boolean;
  target?: string | null;
  download?: boolean;
}

/**
 * The path to show without loading a page, or undefined when the browser should follow the link
 * itself: another origin, a path outside the console, a new tab or window, a download.
 */
export function inAppPath(click: LinkClick): string | undefined {
  if (click.defaultPrevented || click.button !== 0 || click.modified || click.download) return undefined;
  if (click.target && click.target !== '_self') return undefined;
  const url = new URL(click.href, click.origin);
  if (url.origin !== click.origin) return undefined;
  if (url.pathname !== BASE && !url.pathname.startsWith(`${BASE}/`)) return undefined;
  if (url.pathname.startsWith(`${BASE}/assets/`) || url.pathname === `${BASE}/config.json`) return undefined;
  return `${url.pathname}${url.search}${url.hash}`;
}
