/**
 * What a client's WebSocket frames do, independent of the socket library. Every frame is parsed
 * with the protocol schema first; anything malformed gets an error frame and the socket stays.
 */
import {
  closeCodes,
  clientFrameSchemas,
  parseHotFrame,
  describeIssue,
  isErrorCode,
  LetterError,
  limits,
  type ClientFrame,
  type ClientFrameType,
} from '@letter/protocol';
import type { ChatService } from './chat.js';
import { messageJson, type Connection } from '../hub/hub.js';
import type { HeldConnection } from '../hub/held-connection.js';
import type { Clock } from '../util/clock.js';
import { TokenBucket } from '../util/rate.js';

export interface FrameContext {
  connection: HeldConnection;
  /** Aborted once the socket closed: work for it stops (a `sync` reads no further). */
  signal: AbortSignal;
  /** Writes a frame to this socket only, ahead of held events. */
  reply(frame: object): void;
  /** `reply` for a frame already serialized. */
  replyJson(json: string): void;
}

export interface FrameLog {
  error(details: object, message: string): void;
}

export interface FrameRouterOptions {
  clock: Clock;
  /** The per-socket frame bucket (LETTER_RATE_LIMITS=off turns it off). */
  rateLimits: boolean;
  onSendLatency?: (seconds: number) => void;
}

const ANSWERED = Symbol('answered');
const DONE = Promise.resolve();

type SendFrame = Extract<ClientFrame, { type: 'send' }>;
/** Every frame but `send`, which `handle` gives to `send` directly. */
type OtherFrame = Exclude<ClientFrame, SendFrame>;

/**
 * A socket refused with `rate_limited` more than this many times, less one per second since
 * (a bucket of strikes), keeps flooding after being told: it is closed with 1008.
 */
const FLOOD_STRIKES = 20;
const STRIKES_PER_SECOND = 1;

interface SocketLimits {
  /** Every frame, whatever its type, takes a token. */
  frames: TokenBucket;
  strikes: TokenBucket;
}

export class FrameRouter {
  private readonly limits = new WeakMap<Connection, SocketLimits>();

  constructor(
    private readonly chat: ChatService,
    private readonly log: FrameLog,
    private readonly options: FrameRouterOptions,
  ) {}

  /**
   * Handles one text frame from an authenticated socket; resolves once it is answered. Never
   * throws, never rejects. A `send` goes from here to the chat service with no other hop.
   */
  handle(context: FrameContext, text: string): Promise<void> {
    try {
      return this.route(context, text);
    } catch (error) {
      this.log.error({ err: error }, 'frame failed');
      return DONE;
    }
  }

  private route(context: FrameContext, text: string): Promise<void> {
    const wait = this.options.rateLimits ? this.limitsOf(context.connection).frames.take() : 0;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      if (wait > 0) return this.answer(context, this.refuse(context, undefined, tooFast(wait)));
      return this.answer(context, {
        type: 'error',
        code: 'bad_request',
        message: 'The frame is not valid JSON.',
      });
    }
    const record = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const id =
      typeof record.id === 'string' || typeof record.id === 'number' ? record.id : undefined;
    // Refused after parsing only so that the error carries the frame's id.
    if (wait > 0) return this.answer(context, this.refuse(context, id, tooFast(wait)));
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return this.answer(context, {
        type: 'error',
        code: 'bad_request',
        message: 'A frame is a JSON object.',
      });
    }
    const type = record.type;
    if (typeof type !== 'string' || !Object.hasOwn(clientFrameSchemas, type)) {
      return this.answer(context, {
        type: 'error',
        id,
        code: 'bad_request',
        message:
          typeof type === 'string'
            ? `Unknown frame type "${type.slice(0, 40)}".`
            : 'A frame needs a "type".',
      });
    }
    // The hot frames take a hand-written check that accepts only what zod accepts (the
    // schema stays the source; anything else, and every error, is zod's: hot-frames.ts).
    let frame = parseHotFrame(record);
    if (!frame) {
      const parsed = clientFrameSchemas[type as ClientFrameType].safeParse(raw);
      if (!parsed.success) {
        return this.answer(context, {
          type: 'error',
          id,
          code: 'bad_request',
          message: describeIssue(parsed.error),
        });
      }
      frame = parsed.data as ClientFrame;
    }
    if (frame.type === 'send') return this.send(context, frame, id);
    return this.other(context, frame, id);
  }

  private answer(context: FrameContext, frame: object): Promise<void> {
    context.reply(frame);
    return DONE;
  }

  /** The hot frame: stored, delivered, then its `ok` made from the message's JSON. */
  private async send(
    context: FrameContext,
    frame: SendFrame,
    id: string | number | undefined,
  ): Promise<void> {
    try {
      const started = performance.now();
      const { message } = await this.chat.send(
        context.connection.userId,
        frame,
        context.connection.id,
      );
      this.options.onSendLatency?.((performance.now() - started) / 1000);
      // The message's JSON was made for the event already: the ok reuses it.
      const idPart = id === undefined ? '' : `,"id":${JSON.stringify(id)}`;
      context.replyJson(`{"type":"ok"${idPart},"message":${messageJson(message)}}`);
    } catch (error) {
      context.reply(this.errorFrame(context, error, id));
    }
  }

  private async other(
    context: FrameContext,
    frame: OtherFrame,
    id: string | number | undefined,
  ): Promise<void> {
    try {
      const result = await this.dispatch(context, frame, id);
      if (result !== ANSWERED) context.reply({ type: 'ok', id, ...result });
    } catch (error) {
      context.reply(this.errorFrame(context, error, id));
    }
  }

  /** The `ok` payload, or ANSWERED when the case replied itself. */
  private async dispatch(
    context: FrameContext,
    frame: OtherFrame,
    id: string | number | undefined,
  ): Promise<object | undefined | typeof ANSWERED> {
    const { userId } = context.connection;
    switch (frame.type) {
      case 'typing':
        await this.chat.typing(userId, frame.conversationId);
        // Typing has no answer unless the client asked for one with an id.
        return frame.id === undefined ? ANSWERED : undefined;
      case 'delivered':
      case 'read':
        return {
          seq: await this.chat.advance(
            userId,
            frame.conversationId,
            frame.type,
            frame.seq,
            context.connection.id,
          ),
        };
      case 'sync': {
        const replayed = new Map<string, number>();
        context.connection.hold();
        try {
          const result = await this.chat.sync(
            userId,
            frame.cursors,
            (event, key) => {
              replayed.set(key.conversationId, key.seq);
              context.reply(event);
            },
            context.signal,
          );
          // The ok goes before the held live events: replay, ok, then what happened meanwhile.
          context.reply({ type: 'ok', id, ...result });
          return ANSWERED;
        } finally {
          context.connection.release(replayed);
        }
      }
      case 'ping':
        return undefined;
      case 'auth':
        throw new LetterError('bad_request', 'This socket is already authenticated.');
    }
  }

  private errorFrame(
    context: FrameContext,
    error: unknown,
    id: string | number | undefined,
  ): object {
    if (error instanceof LetterError && isErrorCode(error.code)) {
      if (error.code === 'rate_limited') return this.refuse(context, id, error);
      return {
        type: 'error',
        id,
        code: error.code,
        message: error.message,
        retryAfter: error.retryAfter,
      };
    }
    this.log.error({ err: error }, 'frame failed');
    return { type: 'error', id, code: 'internal', message: 'Something went wrong on our side.' };
  }

  /** The `rate_limited` answer; a socket out of strikes is closed with 1008. */
  private refuse(
    context: FrameContext,
    id: string | number | undefined,
    error: LetterError,
  ): object {
    if (this.limitsOf(context.connection).strikes.take() > 0)
      context.connection.close(closeCodes.policy.code, 'rate limit');
    return {
      type: 'error',
      id,
      code: error.code,
      message: error.message,
      retryAfter: error.retryAfter,
    };
  }

  private limitsOf(connection: Connection): SocketLimits {
    let found = this.limits.get(connection);
    if (!found) {
      const { clock } = this.options;
      found = {
        frames: new TokenBucket(clock, limits.frameBurst, limits.framesPerSecond),
        strikes: new TokenBucket(clock, FLOOD_STRIKES, STRIKES_PER_SECOND),
      };
      this.limits.set(connection, found);
    }
    return found;
  }
}

const tooFast = (retryAfter: number) =>
  new LetterError('rate_limited', 'Too many frames on this socket; slow down.', retryAfter);
