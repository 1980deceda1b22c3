/** Maps every failure to the contract's error body; never leaks a stack trace. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { errorCodes, LetterError, type ErrorCode } from '@letter/protocol';

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | LetterError, request, reply) => {
    const { code, message, retryAfter } = toLetterError(error);
    if (code === 'internal') request.log.error({ err: error }, 'request failed');
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    return reply.code(errorCodes[code].status).send({ error: { code, message } });
  });
  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({
      error: {
        code: 'not_found',
        message: `No route ${request.method} ${request.url.split('?')[0]}.`,
      },
    });
  });
}

function toLetterError(error: FastifyError | LetterError): {
  code: ErrorCode;
  message: string;
  retryAfter?: number;
} {
  if (error instanceof LetterError) {
    return {
      code: error.code,
      message: error.message,
      ...(error.retryAfter !== undefined && { retryAfter: error.retryAfter }),
    };
  }
  const status = error.statusCode ?? 500;
  if (status === 413)
    return { code: 'payload_too_large', message: errorCodes.payload_too_large.message };
  if (status === 429) return { code: 'rate_limited', message: errorCodes.rate_limited.message };
  if (status === 415)
    return { code: 'bad_request', message: 'Send JSON with content-type application/json.' };
  if (status >= 400 && status < 500) {
    const message =
      error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError
        ? 'The body is not valid JSON.'
        : error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
          ? 'The body is empty; send a JSON object.'
          : error.message;
    return { code: 'bad_request', message };
  }
  return { code: 'internal', message: errorCodes.internal.message };
}
