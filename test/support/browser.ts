import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

/**
 * A real Chromium for the console's tests, driven by playwright-core, which downloads no browser: the
 * machine's own (Debian's `chromium`, which .ci/run installs), or the one SLIPWAY_CHROMIUM names.
 */

/** Where screenshots go for a person to look at; .gitignore leaves them out. */
export const SCREENSHOTS = join('test-results', 'console');

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SLIPWAY_CHROMIUM) return env.SLIPWAY_CHROMIUM;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim();
    } catch {
      // not on PATH: the next name
    }
  }
  throw new Error("no chromium on PATH: install Debian's chromium (apt-get install chromium) or set SLIPWAY_CHROMIUM");
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    // Chromium refuses to start its sandbox as root (as in a CI container) unless told not to use it.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}

/** A page in a fresh context (no cookies or storage shared with any other), and what went wrong on it. */
export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /**
   * Console errors, uncaught exceptions and Content Security Policy violations, on any page of the context,
   * each as `<kind> on <url>: <text>`.
   */
  problems: string[];
}

/** The name under which the page tells the test of each securitypolicyviolation event. */
const VIOLATION_BINDING = '__reportCspViolation';

/** `timezoneId`: the viewer's time zone (IANA), which the console shows every time in. Default: this machine's. */
export async function watchedPage(browser: Browser, options: { timezoneId?: string } = {}): Promise<WatchedPage> {
  // The provider's certificate is self-signed; the console itself is plain http on 127.0.0.1.
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 900 },
    ...(options.timezoneId ? { timezoneId: options.timezoneId } : {}),
  });
  const problems: string[] = [];
  // CSP violations are console errors too in Chromium; the event names the directive and what it blocked.
  await context.exposeBinding(VIOLATION_BINDING, ({ page }, violation: Record<string, string>) => {
    problems.push(
      `CSP violation on ${page.url()}: ${violation.effectiveDirective} blocked ${violation.blockedURI || 'inline'} (${violation.sourceFile}:${violation.lineNumber})`,
    );
  });
  // Added through the DevTools protocol, so the page's own CSP does not apply to it.
  await context.addInitScript(`document.addEventListener('securitypolicyviolation', (event) => {
    window.${VIOLATION_BINDING}({
      effectiveDirective: event.effectiveDirective,
      blockedURI: event.blockedURI,
      sourceFile: event.sourceFile,
      lineNumber: String(event.lineNumber),
    });
  });`);
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      // A failed load names its URL only in the location (a favicon's 404 among them).
      const source = message.location().url;
      problems.push(`console error on ${page.url()}: ${message.text()}${source ? ` (${source})` : ''}`);
    });
    page.on('pageerror', (error) => problems.push(`uncaught exception on ${page.url()}: ${error.message}`));
  };
  context.on('page', watch);
  const page = await context.newPage();
  return { context, page, problems };
}

/** A full-page screenshot as test-results/console/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** How wide the page is laid out, and its viewport: wider than the viewport, a phone scrolls sideways. */
export async function pageWidth(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate<{ scrollWidth: number; innerWidth: number }>(
    '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })',
  );
}

/** What the check below reads of an element, typed here since the project compiles without the DOM's types. */
interface Focusable {
  ownerDocument: { activeElement: unknown };
}

/**
 * Presses Tab until `target` has the keyboard focus, as someone without a mouse would: fails when it
 * is not reached within `presses`, since a control Tab never reaches is one such a person cannot use.
 */
export async function tabTo(page: Page, target: Locator, presses = 60): Promise<number> {
  for (let pressed = 1; pressed <= presses; pressed += 1) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((element: Focusable) => element === element.ownerDocument.activeElement)) return pressed;
  }
  throw new Error(`Tab did not reach ${target} in ${presses} presses`);
}

/**
 * What a person with low vision or a screen reader would miss on the page as it stands: text whose contrast with
 * what is behind it is under WCAG 2.2's 4.5:1 (3:1 for large text: 24 px, or 18.66 px bold; "Understanding SC
 * 1.4.3 Contrast (Minimum)", relative luminance as WCAG defines it), and buttons, links and form fields with no
 * accessible name. Each problem as `<what>: <text of the element>`. Backgrounds are taken as the nearest opaque
 * one among the element's ancestors (white if none), so text over an image would not be judged.
 */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`(() => {
    const channel = (value) => {
      const c = value / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    const rgba = (css) => {
      const parts = css.match(/[\\d.]+/g)?.map(Number) ?? [0, 0, 0, 1];
      return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
    };
    const luminance = ({ r, g, b }) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const background = (element) => {
      for (let node = element; node; node = node.parentElement) {
        const color = rgba(getComputedStyle(node).backgroundColor);
        if (color.a >= 1) return color;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const shown = (element) => {
      const style = getComputedStyle(element);
      const box = element.getBoundingClientRect();
      return style.visibility !== 'hidden' && style.display !== 'none' && box.width > 0 && box.height > 0;
    };
    const label = (element) => (element.textContent ?? '').trim().replace(/\\s+/g, ' ').slice(0, 60);
    const problems = [];
    for (const element of document.body.querySelectorAll('*')) {
      const ownText = [...element.childNodes].some((node) => node.nodeType === 3 && node.textContent.trim() !== '');
      if (!ownText || !shown(element)) continue;
      const style = getComputedStyle(element);
      const fore = rgba(style.color);
      const back = background(element);
      const [light, dark] = [luminance(fore), luminance(back)].sort((a, b) => b - a);
      const ratio = (light + 0.05) / (dark + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) problems.push('contrast ' + ratio.toFixed(2) + ':1: ' + label(element));
    }
    for (const control of document.querySelectorAll('button, a[href], input, select, textarea')) {
      if (!shown(control)) continue;
      const labelled = control.getAttribute('aria-label') || control.getAttribute('aria-labelledby') ||
        (control.labels && control.labels.length > 0) || label(control) !== '' || control.getAttribute('title');
      if (!labelled) problems.push('no accessible name: <' + control.tagName.toLowerCase() + '>');
    }
    return problems;
  })()`);
}
