import { join } from 'node:path';
import { type Env, endpointFor, serviceEndpointVariable } from '../aws/endpoints';

/*
 * Under `npm start` the functions exist in serverless-offline only, so the Lambda the control plane invokes to
 * run a volume's archive or restore is serverless-offline's Invoke API, and the volume's file system, which
 * Lambda mounts at /mnt/<volume>, is a directory of the state directory.
 */

/** serverless-offline's Lambda Invoke API, where the launcher delivers schedules and events. */
export const offlineLambdaEndpoint = (lambdaPort: number) => `http://127.0.0.1:${lambdaPort}`;

/** Where npm start keeps each volume's files: `<state dir>/volumes/<volume>`, SLIPWAY_VOLUME_ROOT of the volume functions. */
export const localVolumeRoot = (stateDir: string) => join(stateDir, 'volumes');

/**
 * The functions' Lambda endpoint: serverless-offline's, unless the user named one for Lambda itself
 * (AWS_ENDPOINT_URL_LAMBDA). A general AWS_ENDPOINT_URL (moto, say) does not count: the functions it
 * would invoke exist in serverless-offline only.
 */
export function lambdaEndpointEnv(env: Env, lambdaPort: number): Record<string, string> {
  if (env[serviceEndpointVariable('lambda')]) return {};
  return { [serviceEndpointVariable('lambda')]: offlineLambdaEndpoint(lambdaPort) };
}

/** The banner's Lambda line: serverless-offline serves every function, and where volume archives run (`env`: the functions'). */
export function lambdaLine(env: Env, lambdaPort: number): string {
  const offline = offlineLambdaEndpoint(lambdaPort);
  const invoked = endpointFor('lambda', env) ?? 'AWS (usual credential chain)';
  const archives =
    invoked === offline
      ? ', volume archives and restores among them'
      : `; volume archives and restores are invoked at ${invoked}`;
  return `  Lambda invoke   ${offline}   (serverless-offline: every function${archives})`;
}
