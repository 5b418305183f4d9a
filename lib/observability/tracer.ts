import { Tracer } from '@aws-lambda-powertools/tracer';
import { SERVICE_NAME } from './index';

// Its own module: importing the Tracer loads the X-Ray SDK and its async hooks, which the
// backup worker must not pay for on every chunk it streams.
export const tracer = new Tracer({ serviceName: SERVICE_NAME });
