import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, details: details ?? {} } };
}

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}
