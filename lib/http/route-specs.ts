import { auditQuery } from '../audit/schemas';
import {
  backupPath,
  createRestoreBody,
  listBackupsQuery,
  listRestoresQuery,
  restorePath,
  takeBackupBody,
} from '../backup/schemas';
import {
  createDeploymentBody,
  deploymentPath,
  environmentPath,
  historyQuery,
  operationBody,
  promoteBody,
  scaleBody,
} from '../deploy/schemas';
import { consolePath } from './console-path';
import type { RouteSpec } from './route-chain';

export * from './no-input-route-specs';

/**
 * What the route chain enforces of each route: its name, access, scope and input schemas (zod/mini). Each
 * is its own export, and each schema is built in a call marked pure, so a route's function bundles its own
 * entry and the schemas it uses only, and neither the registry (lib/http/registry.ts), which adds what the
 * OpenAPI document says of each, nor classic zod. The routes without input are in no-input-route-specs.ts.
 */

export const createDeployment = {
  name: 'createDeployment',
  access: 'deploy',
  scope: 'body',
  body: createDeploymentBody,
} as const satisfies RouteSpec;
export const getDeployment = {
  name: 'getDeployment',
  access: 'read',
  scope: 'record',
  path: deploymentPath,
} as const satisfies RouteSpec;
export const approveDeployment = {
  name: 'approveDeployment',
  access: 'approve',
  scope: 'record',
  path: deploymentPath,
} as const satisfies RouteSpec;
export const cancelDeployment = {
  name: 'cancelDeployment',
  access: 'deploy',
  scope: 'record',
  path: deploymentPath,
} as const satisfies RouteSpec;
export const getEnvironment = {
  name: 'getEnvironment',
  access: 'read',
  scope: 'path',
  path: environmentPath,
} as const satisfies RouteSpec;
export const listDeployments = {
  name: 'listDeployments',
  access: 'read',
  scope: 'path',
  path: environmentPath,
  query: historyQuery,
} as const satisfies RouteSpec;
export const rollbackEnvironment = {
  name: 'rollbackEnvironment',
  access: 'deploy',
  scope: 'path',
  path: environmentPath,
  body: operationBody,
} as const satisfies RouteSpec;
export const promoteEnvironment = {
  name: 'promoteEnvironment',
  access: 'deploy',
  scope: 'promotion',
  path: environmentPath,
  body: promoteBody,
} as const satisfies RouteSpec;
export const restartEnvironment = {
  name: 'restartEnvironment',
  access: 'deploy',
  scope: 'path',
  path: environmentPath,
  body: operationBody,
} as const satisfies RouteSpec;
export const scaleEnvironment = {
  name: 'scaleEnvironment',
  access: 'deploy',
  scope: 'path',
  path: environmentPath,
  body: scaleBody,
} as const satisfies RouteSpec;

export const listBackups = {
  name: 'listBackups',
  access: 'read',
  scope: 'no-app',
  query: listBackupsQuery,
} as const satisfies RouteSpec;
export const takeBackup = {
  name: 'takeBackup',
  access: 'deploy',
  scope: 'no-app',
  body: takeBackupBody,
} as const satisfies RouteSpec;
export const getBackup = {
  name: 'getBackup',
  access: 'read',
  scope: 'no-app',
  path: backupPath,
} as const satisfies RouteSpec;
export const createRestore = {
  name: 'createRestore',
  access: 'admin',
  scope: 'no-app',
  body: createRestoreBody,
} as const satisfies RouteSpec;
export const getRestore = {
  name: 'getRestore',
  access: 'read',
  scope: 'no-app',
  path: restorePath,
} as const satisfies RouteSpec;
export const listRestores = {
  name: 'listRestores',
  access: 'read',
  scope: 'no-app',
  query: listRestoresQuery,
} as const satisfies RouteSpec;
export const getConsole = {
  name: 'getConsole',
  // The page and its scripts hold nothing secret; the data comes from the API, with the caller's token.
  access: 'public',
  scope: 'open',
  path: consolePath,
} as const satisfies RouteSpec;
export const listAudit = {
  name: 'listAudit',
  access: 'admin',
  // Spans every app: a scoped principal would read what is outside its scope.
  scope: 'no-app',
  query: auditQuery,
} as const satisfies RouteSpec;
