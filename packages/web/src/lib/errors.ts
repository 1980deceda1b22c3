/** Turns whatever a failed call threw into a sentence for the person in front of the screen. */

interface Coded {
  code?: unknown;
  message?: unknown;
  retryAfter?: unknown;
}

const FRIENDLY: Record<string, string> = {
  invalid_credentials: 'Wrong username or password.',
  username_taken: 'That username is taken. Try another one.',
  unauthorized: 'Your session has ended. Please log in again.',
  forbidden: 'You are not allowed to do that.',
  blocked: 'You cannot message this person.',
  not_found: 'Not found.',
  payload_too_large: 'That is too long.',
  internal: 'Something went wrong on the server. Please try again.',
  unavailable:
    'The server cannot reach its database right now. Nothing was lost; try again shortly.',
};

export function errorCode(error: unknown): string | null {
  if (typeof error === 'object' && error !== null && typeof (error as Coded).code === 'string') {
    return (error as Coded).code as string;
  }
  return null;
}

export function describeError(error: unknown): string {
  const code = errorCode(error);
  const coded = (typeof error === 'object' && error !== null ? error : {}) as Coded;
  if (code === 'rate_limited') {
    const seconds = typeof coded.retryAfter === 'number' ? Math.ceil(coded.retryAfter) : null;
    return seconds
      ? `Too many attempts. Try again in ${seconds} s.`
      : 'Too many attempts. Try again soon.';
  }
  // bad_request messages name the field ("username: …"), which is what the person needs to fix.
  if (code === 'bad_request' && typeof coded.message === 'string') return capitalize(coded.message);
  if (code && FRIENDLY[code]) return FRIENDLY[code];
  if (error instanceof TypeError || (error instanceof Error && error.name === 'NetworkError'))
    return 'Cannot reach the server. Check your connection.';
  return 'Something went wrong. Please try again.';
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
