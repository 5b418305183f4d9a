import { randomUUID } from 'node:crypto';

/**
 * The few workflow commands the action needs, as GitHub's runner reads them ("Workflow commands for
 * GitHub Actions"): outputs and the job summary are files named by GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY; masks and errors are `::command::` lines on stdout.
 */

/** `%`, CR and LF escaped, as the runner unescapes a command's message. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Hides `secret` wherever the log would show it. */
export function maskCommand(secret: string): string {
  return `::add-mask::${escapeData(secret)}\n`;
}

/** An error annotation on the step. */
export function errorCommand(message: string): string {
  return `::error::${escapeData(message)}\n`;
}

/** One output in GITHUB_OUTPUT's multiline form, with a delimiter found in neither name nor value. */
export function outputEntry(name: string, value: string, delimiter = `ghadelimiter_${randomUUID()}`): string {
  if (name.includes(delimiter) || value.includes(delimiter)) {
    throw new Error(`the output ${name} contains its delimiter`);
  }
  return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
}

/** A table cell of the job summary's Markdown: one line, pipes escaped. */
export function markdownCell(text: string | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|');
}
