/**
 * The bare `ws` relay: the ceiling of the transport. No auth, no storage, no acks.
 * A client connects to `/?id=<name>&rooms=<a,b>`; a frame `{"to":id,"body"}` goes to that
 * client, `{"room","body"}` to every other member of the room, as `{"from","body"}`.
 * It parses and re-serialises each frame because any real relay has to look inside.
 */
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { relayHttpServer, exitWithParent, listenPort } from './common.js';

const byId = new Map<string, WebSocket>();
const rooms = new Map<string, Set<WebSocket>>();

const http = relayHttpServer(() => byId.size);
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 64 * 1024 });

interface RelayFrame {
  to?: string;
  room?: string;
  body?: string;
}

wss.on('connection', (socket, req) => {
  const url = new URL(req.url ?? '/', 'http://relay');
  const id = url.searchParams.get('id') ?? `anon${byId.size}`;
  const joined = (url.searchParams.get('rooms') ?? '').split(',').filter(Boolean);
  byId.set(id, socket);
  for (const room of joined) {
    let members = rooms.get(room);
    if (!members) rooms.set(room, (members = new Set()));
    members.add(socket);
  }
  socket.on('message', (data) => {
    let frame: RelayFrame;
    try {
      frame = JSON.parse(String(data)) as RelayFrame;
    } catch {
      return;
    }
    const out = JSON.stringify({ from: id, body: frame.body });
    if (frame.to !== undefined) {
      byId.get(frame.to)?.send(out);
    } else if (frame.room !== undefined) {
      for (const member of rooms.get(frame.room) ?? []) if (member !== socket) member.send(out);
    }
  });
  socket.on('close', () => {
    if (byId.get(id) === socket) byId.delete(id);
    for (const room of joined) rooms.get(room)?.delete(socket);
  });
});

exitWithParent();
const { port, host } = listenPort();
http.listen(port, host);
