import { useEffect, useState } from 'preact/hooks';
import { inAppPath } from './routes';

/** The history API as the console uses it: the current path as state, link clicks kept in the page. */

type Listener = (path: string) => void;
const listeners = new Set<Listener>();

const currentPath = () => `${location.pathname}${location.search}`;

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  for (const listener of listeners) listener(currentPath());
}

/** The path shown, following links, navigate() and the back and forward buttons. */
export function useLocationPath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const onPop = () => setPath(currentPath());
    listeners.add(setPath);
    addEventListener('popstate', onPop);
    return () => {
      listeners.delete(setPath);
      removeEventListener('popstate', onPop);
    };
  }, []);
  return path;
}

/** Same-origin links under /console/ change the page without loading it. */
export function interceptLinks(root: Document): void {
  root.addEventListener('click', (event) => {
    const anchor = (event.target as Element | null)?.closest?.('a[href]');
    if (!(anchor instanceof HTMLAnchorElement)) return;
    const path = inAppPath({
      href: anchor.href,
      origin: location.origin,
      button: event.button,
      modified: event.metaKey || event.ctrlKey || event.shiftKey || event.altKey,
      defaultPrevented: event.defaultPrevented,
      target: anchor.getAttribute('target'),
      download: anchor.hasAttribute('download'),
    });
    if (path === undefined) return;
    event.preventDefault();
    if (path !== currentPath()) navigate(path);
  });
}
