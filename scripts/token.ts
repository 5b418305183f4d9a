/**
 * `npm run token -- --name ci --role deployer [--role approver] [--app shop]… [--environment staging]…
 * [--stage local] [--json]`: mints an API token, shows it once, and prints the entry to store in the
 * stage's tokens secret. `--app`/`--environment` limit the token to those (names the stage's config has). For the stages npm start runs on this machine (local, and sandbox: `npm start -- --sandbox`) it also puts the entry, by name, into
 * `.slipway/<stage>/tokens.json` (or `$SLIPWAY_STATE_DIR/tokens.json`), which a
 * running `npm start` reads on every request.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import {
  checkScopeAgainstConfig,
  describeTokenGrant,
  parseTokenArgs,
  parseTokenDocument,
  TOKEN_USAGE,
  tokenEntry,
  tokenJsonLine,
  UsageError,
  upsertTokenEntry,
} from '../lib/auth/token-admin';
import { mintToken, type TokenEntry } from '../lib/auth/tokens';
import { configPathFor, loadStageConfig } from '../lib/config/load';

const say = (line = '') => process.stdout.write(`${line}\n`);

/** The stages whose tokens file npm start reads: their tokens are stored there, not in Secrets Manager. */
const ON_THIS_MACHINE = new Set(['local', 'sandbox']);

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes the whole file or nothing, readable by this user only. */
function writePrivately(path: string, text: string): void {
  const partial = `${path}.${process.pid}.tmp`;
  writeFileSync(partial, text, { mode: 0o600, flag: 'wx' });
  chmodSync(partial, 0o600);
  renameSync(partial, path);
}

function storeLocally(stateDir: string, entry: TokenEntry): { file: string; replaced: boolean } {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, 'tokens.json');
  const { document, replaced } = upsertTokenEntry(parseTokenDocument(readIfPresent(file), file), entry);
  writePrivately(file, `${JSON.stringify(document, null, 2)}\n`);
  return { file, replaced };
}

/** A path as the user would type it: relative when under the working directory. */
function shown(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere && !fromHere.startsWith('..') && !isAbsolute(fromHere) ? fromHere : path;
}

function main(): number {
  let command: ReturnType<typeof parseTokenArgs>;
  try {
    command = parseTokenArgs(process.argv.slice(2));
    const configFile = configPathFor(command.stage);
    if (!existsSync(configFile)) throw new UsageError(`--stage ${command.stage}: there is no ${configFile}`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`token: ${error.message}; ${TOKEN_USAGE}\n`);
    return 2;
  }

  // Names the secret, and fails before anything is minted if the stage's config is wrong.
  const config = loadStageConfig(command.stage);
  try {
    checkScopeAgainstConfig(
      command,
      Object.fromEntries(Object.entries(config.apps).map(([name, app]) => [name, Object.keys(app.environments)])),
    );
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`token: ${error.message}\n`);
    return 2;
  }
  const token = mintToken();
  const entry = tokenEntry(command.name, command.roles, token, new Date(), command);
  const local = ON_THIS_MACHINE.has(command.stage)
    ? storeLocally(resolve(process.env.SLIPWAY_STATE_DIR ?? `.slipway/${command.stage}`), entry)
    : undefined;

  if (command.json) {
    say(tokenJsonLine(command.name, token, entry));
    return 0;
  }
  say(`Token for ${command.name} (${describeTokenGrant(entry)}); it is shown this once:`);
  say();
  say(`  ${token}`);
  say();
  const secret = config.auth.tokensSecret;
  if (local) {
    say(
      `${local.replaced ? 'Replaced' : 'Added'} ${command.name} in ${shown(local.file)}; a running npm start accepts it now.`,
    );
    say();
    say(`Without that file, npm start reads the Secrets Manager secret ${secret}; its entry would be:`);
  } else {
    say(
      `Put this entry in the "tokens" array of the Secrets Manager secret ${secret} (stage ${command.stage}), in place of any entry named ${command.name}:`,
    );
  }
  say();
  say(`  ${JSON.stringify(entry)}`);
  return 0;
}

try {
  process.exitCode = main();
} catch (error) {
  process.stderr.write(`token: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
