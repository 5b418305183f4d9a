import type { ApiError } from '../api';

/** What the API answered when it refused or failed, as it said it. */
export function Problem({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return (
    <p class="problem" role="alert">
      {error.status === 403 ? 'Not allowed: ' : ''}
      {error.message}
    </p>
  );
}
