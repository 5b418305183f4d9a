import * as z from 'zod/mini';

/** The console's path: what follows /console/, as the app's own paths and its assets spell it. */
export const consolePath = /* @__PURE__ */ (() =>
  z.object({
    proxy: z.optional(
      z.string().check(
        z.maxLength(512, 'expected at most 512 characters'),
        z.regex(
          /^[A-Za-z0-9._~@:=+,-]+(\/[A-Za-z0-9._~@:=+,-]+)*\/?$/,
          'expected a console path such as deployments/dep-3f2a or assets/app-1a2b3c4d.js',
        ),
        z.refine((value) => !value.split('/').some((segment) => segment === '..' || segment === '.'), {
          message: 'expected a path without . or .. segments',
        }),
        z.describe('A page of the console (it routes its own paths), or one of its assets.'),
      ),
    ),
  }))();
