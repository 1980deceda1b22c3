/**
 * What the `ws` relays share: who is connected under which id and in which rooms (from the
 * `/?id=<name>&rooms=<a,b>` URL), and how a frame is forwarded — `{"to":id,"body"}` to that
 * client, `{"room","body"}` to every other member of the room, as `{"from","body"}`.
 */
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { exitWithParent, listenPort, relayHttpServer } from './common.js';

export interface RelayFrame {
  to?: string;
  room?: string;
  body?: string;
}

/** A frame's JSON, or undefined when it is not JSON (a relay drops it). */
function parseFrame(data: unknown): RelayFrame | undefined {
  try {
    return JSON.parse(String(data)) as RelayFrame;
  } catch {
    return undefined;
  }
}

export class RelayDirectory {
  private readonly byId = new Map<string, WebSocket>();
  private readonly rooms = new Map<string, Set<WebSocket>>();

  get size(): number {
    return this.byId.size;
  }

  /** Registers `socket` under the id and rooms of its URL; it leaves them when it closes. */
  join(socket: WebSocket, requestUrl: string | undefined): string {
    const url = new URL(requestUrl ?? '/', 'http://relay');
    const id = url.searchParams.get('id') ?? `anon${this.byId.size}`;
    const joined = (url.searchParams.get('rooms') ?? '').split(',').filter(Boolean);
    this.byId.set(id, socket);
    for (const room of joined) {
      let members = this.rooms.get(room);
      if (!members) this.rooms.set(room, (members = new Set()));
      members.add(socket);
    }
    socket.on('close', () => {
      if (this.byId.get(id) === socket) this.byId.delete(id);
      for (const room of joined) this.rooms.get(room)?.delete(socket);
    });
    return id;
  }

  /** The socket connected as `id`, if any. */
  socket(id: string): WebSocket | undefined {
    return this.byId.get(id);
  }

  /** Forwards `frame`, sent by `socket` (known as `from`), to its addressee or room. */
  forward(socket: WebSocket, from: string, frame: RelayFrame): void {
    const out = JSON.stringify({ from, body: frame.body });
    if (frame.to !== undefined) {
      this.byId.get(frame.to)?.send(out);
    } else if (frame.room !== undefined) {
      for (const member of this.rooms.get(frame.room) ?? [])
        if (member !== socket) member.send(out);
    }
  }
}

/**
 * Serves a `ws` relay on PORT/HOST (health and metrics beside it): each socket joins
 * `directory` under its URL's id, and each of its frames that is JSON goes to `onFrame`. Exits
 * with the harness (common.ts).
 */
export function serveWsRelay(
  directory: RelayDirectory,
  onFrame: (socket: WebSocket, id: string, frame: RelayFrame) => void,
): void {
  const http = relayHttpServer(() => directory.size);
  const wss = new WebSocketServer({
    server: http,
    perMessageDeflate: false,
    maxPayload: 64 * 1024,
  });
  wss.on('connection', (socket, req) => {
    const id = directory.join(socket, req.url);
    socket.on('message', (data) => {
      const frame = parseFrame(data);
      if (frame) onFrame(socket, id, frame);
    });
  });
  exitWithParent();
  const { port, host } = listenPort();
  http.listen(port, host);
}
