/**
 * What both `ws` relays share: who is connected under which id and in which rooms (from the
 * `/?id=<name>&rooms=<a,b>` URL), and how a frame is forwarded — `{"to":id,"body"}` to that
 * client, `{"room","body"}` to every other member of the room, as `{"from","body"}`.
 */
import type { WebSocket } from 'ws';

export interface RelayFrame {
  to?: string;
  room?: string;
  body?: string;
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
