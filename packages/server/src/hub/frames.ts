/**
 * What a client's WebSocket frames do, independent of the socket library. Every frame is parsed
 * with the protocol schema first; anything malformed gets an error frame and the socket stays.
 */
import {
  clientFrameSchemas,
  describeIssue,
  isErrorCode,
  LetterError,
  type ClientFrame,
  type ClientFrameType,
} from '@letter/protocol';
import type { ChatService } from './chat.js';
import { messageJson, type Connection } from './hub.js';
import type { HeldConnection } from './held-connection.js';

export interface FrameContext {
  connection: HeldConnection;
  /** Writes a frame to this socket only, ahead of held events. */
  reply(frame: object): void;
  /** `reply` for a frame already serialized. */
  replyJson(json: string): void;
}

export interface FrameLog {
  error(details: object, message: string): void;
}

const ANSWERED = Symbol('answered');

/** A socket whose sends keep being refused this many times in a row is closed with 1008. */
const FLOOD_LIMIT = 20;

export class FrameRouter {
  private readonly refusedInARow = new WeakMap<Connection, number>();

  constructor(
    private readonly chat: ChatService,
    private readonly log: FrameLog,
    private readonly onSendLatency: (seconds: number) => void = () => {},
  ) {}

  /** Handles one text frame from an authenticated socket. Never throws. */
  async handle(context: FrameContext, text: string): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return context.reply({
        type: 'error',
        code: 'bad_request',
        message: 'The frame is not valid JSON.',
      });
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return context.reply({
        type: 'error',
        code: 'bad_request',
        message: 'A frame is a JSON object.',
      });
    }
    const record = raw as Record<string, unknown>;
    const id =
      typeof record.id === 'string' || typeof record.id === 'number' ? record.id : undefined;
    const type = record.type;
    if (typeof type !== 'string' || !Object.hasOwn(clientFrameSchemas, type)) {
      return context.reply({
        type: 'error',
        id,
        code: 'bad_request',
        message:
          typeof type === 'string'
            ? `Unknown frame type "${type.slice(0, 40)}".`
            : 'A frame needs a "type".',
      });
    }
    const parsed = clientFrameSchemas[type as ClientFrameType].safeParse(raw);
    if (!parsed.success) {
      return context.reply({
        type: 'error',
        id,
        code: 'bad_request',
        message: describeIssue(parsed.error),
      });
    }
    try {
      const result = await this.dispatch(context, parsed.data as ClientFrame, id);
      if (result !== ANSWERED) context.reply({ type: 'ok', id, ...result });
    } catch (error) {
      context.reply(this.errorFrame(context, error, id));
    }
  }

  /** The `ok` payload, or ANSWERED when the case replied itself. */
  private async dispatch(
    context: FrameContext,
    frame: ClientFrame,
    id: string | number | undefined,
  ): Promise<object | undefined | typeof ANSWERED> {
    const { userId, id: connectionId } = context.connection;
    switch (frame.type) {
      case 'send': {
        const started = performance.now();
        const { message } = await this.chat.send(userId, frame, connectionId);
        this.refusedInARow.delete(context.connection);
        this.onSendLatency((performance.now() - started) / 1000);
        // The message's JSON was made for the event already: the ok reuses it.
        const idPart = id === undefined ? '' : `,"id":${JSON.stringify(id)}`;
        context.replyJson(`{"type":"ok"${idPart},"message":${messageJson(message)}}`);
        return ANSWERED;
      }
      case 'typing':
        await this.chat.typing(userId, frame.conversationId);
        // Typing has no answer unless the client asked for one with an id.
        return frame.id === undefined ? ANSWERED : undefined;
      case 'delivered':
      case 'read':
        return {
          seq: await this.chat.advance(userId, frame.conversationId, frame.type, frame.seq),
        };
      case 'sync': {
        const replayed = new Map<string, number>();
        context.connection.hold();
        try {
          const result = await this.chat.sync(userId, frame.cursors, (event, key) => {
            replayed.set(key.conversationId, key.seq);
            context.reply(event);
          });
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
      if (error.code === 'rate_limited') {
        const refused = (this.refusedInARow.get(context.connection) ?? 0) + 1;
        this.refusedInARow.set(context.connection, refused);
        if (refused >= FLOOD_LIMIT) context.connection.close(1008, 'rate limit');
      }
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
}
