import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { redact } from './redaction';

export const SERVICE_NAME = 'slipway';

/** Powertools' default layout, passed through redaction before it is written. */
class RedactingLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const base = {
      level: attributes.logLevel,
      message: attributes.message,
      timestamp: this.formatTimestamp(attributes.timestamp),
      service: attributes.serviceName,
      cold_start: attributes.lambdaContext?.coldStart,
      function_name: attributes.lambdaContext?.functionName,
      function_request_id: attributes.lambdaContext?.awsRequestId,
      xray_trace_id: attributes.xRayTraceId,
    };
    const merged = redact({ ...base, ...additional }) as LogAttributes;
    return new LogItem({ attributes: merged });
  }
}

/**
 * The value at a dotted path of plain keys, the only kind of correlation id path Slipway has
 * (correlationIdPaths): the Logger's own search is a JMESPath engine, some 24 KiB in every bundle.
 */
export function valueAtPath(path: string, data: unknown): unknown {
  let current = data;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export const logger = new Logger({
  serviceName: SERVICE_NAME,
  logFormatter: new RedactingLogFormatter(),
  correlationIdSearchFn: valueAtPath,
});
export const metrics = new Metrics({ namespace: 'Slipway', serviceName: SERVICE_NAME });
export { holdSecretValue, REDACTED, redact, registerSecretValue } from './redaction';

/** Where a correlation id is found in each kind of event Slipway handles. */
export const correlationIdPaths = {
  http: 'requestContext.requestId',
  eventBridge: 'id',
} as const;
