import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStageConfig, writeResolvedConfig } from '../../../lib/config/load';
import { parseResolvedConfig, readResolvedConfig, resolvedConfigPath } from '../../../lib/config/resolved';
import { ConfigError } from '../../../lib/errors';
import { thrown } from '../../support/thrown';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-resolved-'));
  writeFileSync(join(dir, 'prod.yml'), readFileSync('config/prod.yml'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the resolved config functions read at cold start', () => {
  it('reads back exactly what the YAML resolves to, defaults filled in', () => {
    // given config/prod.yml resolved as packaging does
    writeResolvedConfig('prod', dir);
    // when a function reads it / then it is the validated config
    expect(readResolvedConfig('prod', dir)).toEqual(loadStageConfig('prod', dir));
  });

  it('refuses a file changed after it was written, naming it', () => {
    // given a resolved file whose config was edited by hand
    writeResolvedConfig('prod', dir);
    const path = resolvedConfigPath('prod', dir);
    const file = JSON.parse(readFileSync(path, 'utf8')) as { sha256: string; config: string };
    const edited = JSON.stringify({ ...file, config: file.config.replace('"retentionDays":', '"retentionDays":1') });
    // when it is read
    const error = thrown(() => parseResolvedConfig(edited, path));
    // then the cold start fails with the file and the reason
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      `${path}: the config's SHA-256 does not match the digest beside it; it was changed after it was written: package the stage again rather than edit it`,
    );
  });

  it('refuses a file that is not the resolved format', () => {
    expect(thrown(() => parseResolvedConfig('{"auth": {}}', 'config/prod.resolved.json')).message).toBe(
      'config/prod.resolved.json: expected {sha256, config}; package the stage again',
    );
    expect(thrown(() => parseResolvedConfig('auth:', 'config/prod.resolved.json')).message).toBe(
      'config/prod.resolved.json: is not valid JSON; package the stage again',
    );
  });

  it('names the file and who writes it when it is missing', () => {
    // given a stage never packaged nor started / when a function reads its config
    const error = thrown(() => readResolvedConfig('prod', dir));
    // then the error says where it was looked for
    expect(error.message).toBe(
      `${resolvedConfigPath('prod', dir)}: cannot be read (ENOENT); sls package and npm start write it from config/prod.yml`,
    );
  });
});
