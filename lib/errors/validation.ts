import { en } from 'zod/locales';
import { config } from 'zod/mini';

// zod/mini carries no messages of its own ("Invalid input"); a 4xx and a dead letter name the reason in
// the same English as zod's classic build, which sets this same locale when it loads.
config(en());
