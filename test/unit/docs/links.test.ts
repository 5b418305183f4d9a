import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/**
 * The documentation's own links: every relative link in README.md and docs/*.md names a file that
 * exists, and every #anchor a heading of that file (as GitHub makes anchors from headings); every
 * Mermaid block starts with a diagram type Mermaid knows.
 */

const DOCS = 'docs';
const DOCUMENTS = [
  'README.md',
  ...readdirSync(DOCS, { withFileTypes: true }).flatMap((entry) =>
    entry.isFile() && entry.name.endsWith('.md') ? [join(DOCS, entry.name)] : [],
  ),
].sort();

// https://mermaid.js.org/intro/syntax-reference.html: the keyword that opens each diagram type.
const MERMAID_TYPES = [
  'flowchart',
  'graph',
  'sequenceDiagram',
  'classDiagram',
  'stateDiagram',
  'stateDiagram-v2',
  'erDiagram',
  'journey',
  'gantt',
  'pie',
  'quadrantChart',
  'requirementDiagram',
  'gitGraph',
  'C4Context',
  'C4Container',
  'C4Component',
  'C4Dynamic',
  'C4Deployment',
  'mindmap',
  'timeline',
  'zenuml',
  'sankey-beta',
  'xychart-beta',
  'block-beta',
  'packet-beta',
  'kanban',
  'architecture-beta',
];

interface Fence {
  info: string;
  body: string[];
  /** 1-based line of the opening fence. */
  line: number;
}

interface Parsed {
  /** Lines outside fenced code blocks, with their 1-based numbers. */
  prose: Array<{ text: string; line: number }>;
  fences: Fence[];
}

/** Splits a Markdown file into prose and fenced blocks (``` or ~~~, three or more). */
function parse(text: string): Parsed {
  const prose: Parsed['prose'] = [];
  const fences: Fence[] = [];
  let open: (Fence & { marker: string }) | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const fence = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/.exec(raw);
    if (open) {
      if (fence?.[1]?.startsWith(open.marker) && raw.trim() === fence[1]) {
        fences.push({ info: open.info, body: open.body, line: open.line });
        open = undefined;
      } else open.body.push(raw);
      return;
    }
    if (fence?.[1]) {
      open = { marker: fence[1], info: fence[2] ?? '', body: [], line };
      return;
    }
    prose.push({ text: raw, line });
  });
  if (open) throw new Error(`a code fence opened on line ${open.line} is never closed`);
  return { prose, fences };
}

/**
 * The anchor GitHub gives a heading: its rendered text (code spans as written, links as their text,
 * HTML tags and emphasis marks gone), lowercase, punctuation dropped, spaces to dashes.
 */
function githubSlug(heading: string): string {
  const text = heading
    .split(/(`+[^`]*`+)/)
    .map((part, index) =>
      index % 2 === 1
        ? part.replace(/^`+|`+$/g, '')
        : part
            .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
            .replace(/<[^>]+>/g, '')
            .replace(/\*/g, ''),
    )
    .join('');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a file's headings make, with GitHub's -1, -2 suffixes for repeated ones. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text: line } of parse(text).prose) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = githubSlug(heading[1] ?? '');
    const count = seen.get(slug) ?? 0;
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
    seen.set(slug, count + 1);
  }
  return anchors;
}

/** Link targets in prose: inline links and images, and reference definitions; inline code is left out. */
function linksOf(text: string): Array<{ target: string; line: number }> {
  const links: Array<{ target: string; line: number }> = [];
  for (const { text: raw, line } of parse(text).prose) {
    const prose = raw.replace(/(`+)(?:(?!\1).)+\1/g, '');
    for (const match of prose.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ target: (match[1] ?? '').replace(/^<|>$/g, ''), line });
    }
    const definition = /^ {0,3}\[[^\]]+\]:\s*(\S+)/.exec(prose);
    if (definition?.[1]) links.push({ target: definition[1].replace(/^<|>$/g, ''), line });
  }
  return links;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

function brokenLinks(document: string): string[] {
  const text = readFileSync(document, 'utf8');
  const broken: string[] = [];
  for (const { target, line } of linksOf(text)) {
    if (isExternal(target)) continue;
    const [pathPart = '', anchor] = target.split('#', 2);
    const path = decodeURIComponent(pathPart);
    const file = path === '' ? document : normalize(join(dirname(document), path));
    const where = `${document}:${line}: ${target}`;
    if (!existsSync(file)) {
      broken.push(`${where}: ${file} does not exist`);
      continue;
    }
    if (anchor === undefined || anchor === '') continue;
    if (statSync(file).isDirectory() || !file.endsWith('.md')) {
      broken.push(`${where}: an anchor into ${file}, which is not a Markdown file`);
    } else if (!anchorsOf(readFileSync(file, 'utf8')).has(decodeURIComponent(anchor))) {
      broken.push(`${where}: ${file} has no heading #${anchor}`);
    }
  }
  return broken;
}

describe('links in the documentation', () => {
  it('given README.md and docs/*.md, then every relative link names a file that exists, and every anchor a heading', () => {
    // given
    expect(DOCUMENTS).toContain('README.md');
    expect(DOCUMENTS).toContain('docs/README.md');

    // when
    const broken = DOCUMENTS.flatMap(brokenLinks);

    // then
    expect(broken).toEqual([]);
  });

  it('given the docs index, then it links every document in docs/', () => {
    // given
    const index = readFileSync('docs/README.md', 'utf8');

    // when
    const linked = new Set(linksOf(index).map(({ target }) => normalize(join(DOCS, target.split('#')[0] ?? ''))));

    // then
    expect(
      DOCUMENTS.filter(
        (document) => document.startsWith(`${DOCS}/`) && document !== 'docs/README.md' && !linked.has(document),
      ),
    ).toEqual([]);
  });

  it('given every Mermaid block, then it starts with a diagram type Mermaid knows', () => {
    // given
    const blocks = DOCUMENTS.flatMap((document) =>
      parse(readFileSync(document, 'utf8'))
        .fences.filter((fence) => fence.info === 'mermaid')
        .map((fence) => ({ where: `${document}:${fence.line}`, body: fence.body })),
    );

    // when
    const unknown = blocks.flatMap(({ where, body }) => {
      // Front matter (--- … ---) and %% comments may come before the diagram's keyword.
      let lines = body.map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('%%'));
      if (lines[0] === '---') lines = lines.slice(lines.indexOf('---', 1) + 1);
      const keyword = lines[0]?.split(/\s+/)[0] ?? '';
      return MERMAID_TYPES.includes(keyword) ? [] : [`${where}: starts with ${JSON.stringify(keyword)}`];
    });

    // then
    expect(blocks.length).toBeGreaterThan(0);
    expect(unknown).toEqual([]);
  });
});

describe('githubSlug', () => {
  it('given headings as GitHub renders them, then the anchors are GitHub’s', () => {
    expect(githubSlug('Deploying to AWS')).toBe('deploying-to-aws');
    expect(githubSlug('`auth`')).toBe('auth');
    expect(githubSlug('Health, alarms and automatic rollback')).toBe('health-alarms-and-automatic-rollback');
    expect(githubSlug('5. Push an image: the first automated deploy')).toBe(
      '5-push-an-image-the-first-automated-deploy',
    );
    expect(githubSlug('Roll back by hand ([API](#x))')).toBe('roll-back-by-hand-api');
    expect(githubSlug('slipway-<stage>-dead-letters')).toBe('slipway--dead-letters');
    expect(githubSlug('`slipway-<stage>-dead-letters`')).toBe('slipway-stage-dead-letters');
  });

  it('given a file with a repeated heading, then the second anchor has -1', () => {
    expect([...anchorsOf('# A\n\n## Notes\n\n```\n# not a heading\n```\n\n## Notes\n')]).toEqual([
      'a',
      'notes',
      'notes-1',
    ]);
  });
});

describe('linksOf', () => {
  it('given prose, code spans and code blocks, then only the prose links are found', () => {
    const text = [
      'See [the guide](getting-started.md#prerequisites) and ![a diagram](img/x.png "title").',
      'Not `[this](nowhere.md)`.',
      '```',
      '[nor this](nowhere.md)',
      '```',
      '[ref]: ./operations.md',
    ].join('\n');
    expect(linksOf(text)).toEqual([
      { target: 'getting-started.md#prerequisites', line: 1 },
      { target: 'img/x.png', line: 1 },
      { target: './operations.md', line: 6 },
    ]);
  });
});
