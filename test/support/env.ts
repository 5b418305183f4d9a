import { ensureResolvedConfig } from './resolved-config';

// Tests never reach AWS: no instance metadata lookups, no EMF noise, fixed region.
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_REGION ??= 'us-east-1';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.SLS_TELEMETRY_DISABLED = '1';
process.env.SLS_NOTIFICATIONS_MODE = 'off';
// Function modules build their default dependencies at import, as on a cold start: give them the local stage.
process.env.SLIPWAY_STAGE ??= 'local';
process.env.STATE_TABLE ??= 'slipway-local-state';
process.env.BACKUP_BUCKET ??= 'slipway-local-backups';
// Lambda runs Node 22; Node 20 is supported on development machines, so the SDK's reminder is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// What `sls package` and `npm start` write for a stage, and functions read at cold start.
ensureResolvedConfig(process.env.SLIPWAY_STAGE);
