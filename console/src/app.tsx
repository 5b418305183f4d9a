import { useEffect, useRef, useState } from 'preact/hooks';
import { apiGet, fetchConfig, onUnauthorized } from './api';
import { completeSignIn, signOut, startSignIn } from './auth/flow';
import { currentSession } from './auth/session';
import { Dialog } from './components/dialog';
import { useLocationPath } from './navigation';
import { Audit } from './pages/audit';
import { Backups } from './pages/backups';
import { Board } from './pages/board';
import { Deployment } from './pages/deployment';
import { Environment } from './pages/environment';
import { canReadAudit, displayName } from './permissions';
import { matchRoute, paths, type Route } from './routes';
import type { ConsoleConfig, Me } from './types';

/** The console: settings, sign-in, the header and navigation, the page the path names, and the expired session. */

type Auth =
  | { status: 'loading' }
  | { status: 'unavailable'; message: string }
  | { status: 'signed-out'; message?: string }
  | { status: 'signed-in'; me: Me };

const TITLES: Record<Route['page'], string> = {
  board: 'Board',
  environment: 'Environment',
  deployment: 'Deployment',
  backups: 'Backups',
  audit: 'Audit trail',
  callback: 'Signing in',
  'not-found': 'Not found',
};

function Page({ route, me }: { route: Route; me: Me }) {
  switch (route.page) {
    case 'board':
      return <Board />;
    case 'environment':
      return <Environment app={route.app} env={route.env} />;
    case 'deployment':
      return <Deployment id={route.id} me={me} />;
    case 'backups':
      return <Backups />;
    case 'audit':
      return canReadAudit(me) ? (
        <Audit />
      ) : (
        <>
          <h1 tabIndex={-1}>Audit trail</h1>
          <p>Only admins read the audit trail; your roles are {me.roles.join(', ')}.</p>
        </>
      );
    case 'callback':
      return <h1 tabIndex={-1}>Signing in…</h1>;
    case 'not-found':
      return (
        <>
          <h1 tabIndex={-1}>Not found</h1>
          <p>
            The console has no page at <code>{route.path}</code>. <a href={paths.board()}>Go to the board</a>.
          </p>
        </>
      );
  }
}

function SignedOut({ config, message }: { config: ConsoleConfig; message?: string | undefined }) {
  const [busy, setBusy] = useState(false);
  return (
    <>
      <h1 tabIndex={-1}>Sign in to Slipway</h1>
      {message ? (
        <p class="problem" role="alert">
          {message}
        </p>
      ) : null}
      <p>
        The console signs you in with {new URL(config.issuer).host} and keeps your session in this tab’s memory only:
        reloading the page or opening it in another tab asks you to sign in again.
      </p>
      <button
        type="button"
        class="primary"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          void startSignIn(config, `${location.pathname}${location.search}`);
        }}
      >
        Sign in
      </button>
    </>
  );
}

export function App() {
  const path = useLocationPath();
  const route = matchRoute(new URL(path, location.origin).pathname);
  const [config, setConfig] = useState<ConsoleConfig>();
  const [auth, setAuth] = useState<Auth>({ status: 'loading' });
  const [expired, setExpired] = useState(false);
  const signedIn = useRef(false);
  const shownPath = useRef(path);

  const loadMe = async () => {
    try {
      const { principal } = await apiGet<{ principal: Me }>('/v1/me');
      signedIn.current = true;
      setAuth({ status: 'signed-in', me: principal });
    } catch (error) {
      setAuth({ status: 'signed-out', message: `The control plane refused the sign-in: ${(error as Error).message}` });
    }
  };

  useEffect(() => {
    onUnauthorized(() => {
      if (signedIn.current) setExpired(true);
    });
    (async () => {
      let settings: ConsoleConfig;
      try {
        settings = await fetchConfig<ConsoleConfig>();
      } catch (error) {
        setAuth({ status: 'unavailable', message: (error as Error).message });
        return;
      }
      setConfig(settings);
      if (matchRoute(location.pathname).page !== 'callback') {
        setAuth({ status: 'signed-out' });
        return;
      }
      try {
        await completeSignIn(settings);
      } catch (error) {
        setAuth({ status: 'signed-out', message: (error as Error).message });
        return;
      } finally {
        // The callback left the address bar; the path shown follows it.
        dispatchEvent(new PopStateEvent('popstate'));
      }
      await loadMe();
    })();
  }, []);

  // The token's exp passing ends the session as a 401 would.
  useEffect(() => {
    if (auth.status !== 'signed-in') return;
    const exp = currentSession()?.claims.exp;
    if (exp === undefined) return;
    const timer = setTimeout(() => setExpired(true), Math.max(0, exp * 1000 - Date.now()));
    return () => clearTimeout(timer);
  }, [auth.status]);

  useEffect(() => {
    document.title = `${TITLES[route.page]} · Slipway${config ? ` ${config.stage}` : ''}`;
    // A new page takes focus to its heading, as a page load would put the reader at its top.
    if (path !== shownPath.current) document.querySelector<HTMLElement>('main h1')?.focus();
    shownPath.current = path;
  }, [path, auth.status]);

  const me = auth.status === 'signed-in' ? auth.me : undefined;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">
          Slipway{config ? <span class="stage">{config.stage}</span> : null}
          {config?.sandbox ? <span class="stage sandbox">sandbox</span> : null}
        </span>
        {me ? (
          <nav aria-label="Main">
            <ul>
              <li>
                <a href={paths.board()} aria-current={route.page === 'board' ? 'page' : undefined}>
                  Board
                </a>
              </li>
              <li>
                <a href={paths.backups()} aria-current={route.page === 'backups' ? 'page' : undefined}>
                  Backups
                </a>
              </li>
              {canReadAudit(me) ? (
                <li>
                  <a href={paths.audit()} aria-current={route.page === 'audit' ? 'page' : undefined}>
                    Audit
                  </a>
                </li>
              ) : null}
            </ul>
          </nav>
        ) : null}
        {me ? (
          <span class="who">
            <span title={me.name}>{displayName(me)}</span> <span class="muted">({me.roles.join(', ')})</span>
            <button
              type="button"
              onClick={() => {
                signedIn.current = false;
                setExpired(false);
                if (!signOut(config)) setAuth({ status: 'signed-out', message: 'You are signed out.' });
              }}
            >
              Sign out
            </button>
          </span>
        ) : null}
      </header>
      <main id="main">
        {auth.status === 'loading' ? <p>Loading…</p> : null}
        {auth.status === 'unavailable' ? (
          <>
            <h1 tabIndex={-1}>Slipway console</h1>
            <p class="problem" role="alert">
              {auth.message}
            </p>
          </>
        ) : null}
        {auth.status === 'signed-out' && config ? <SignedOut config={config} message={auth.message} /> : null}
        {me ? <Page route={route} me={me} /> : null}
      </main>
      {expired && config ? (
        <Dialog title="Your session has ended" role="alertdialog">
          <p>The control plane no longer accepts your sign-in. The page stays as it was until you sign in again.</p>
          <div class="dialog-buttons">
            <button
              type="button"
              class="primary"
              data-autofocus
              onClick={() => void startSignIn(config, `${location.pathname}${location.search}`)}
            >
              Sign in again
            </button>
          </div>
        </Dialog>
      ) : null}
    </>
  );
}
