import { jest } from '@jest/globals';

// Integration and template tests start real servers and packagers.
jest.setTimeout(400_000);
