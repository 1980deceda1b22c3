/**
 * The Socket.IO 4.8 relay, as most Node chat tutorials ship it: default server options,
 * a room per user for private messages, `socket.to(room).emit` for groups. No auth, no storage.
 * The handshake's auth payload `{id, rooms}` says who the client is and which rooms it joins.
 */
import { Server } from 'socket.io';
import { relayHttpServer, exitWithParent, listenPort } from './common.js';

const http = relayHttpServer(() => io.engine.clientsCount);
const io = new Server(http);

interface Chat {
  to?: string;
  room?: string;
  body?: string;
}

io.on('connection', (socket) => {
  const auth = socket.handshake.auth as { id?: string; rooms?: string[] };
  const id = auth.id ?? socket.id;
  void socket.join([id, ...(auth.rooms ?? [])]);
  socket.on('chat', (m: Chat) => {
    if (m.to !== undefined) socket.to(m.to).emit('chat', { from: id, body: m.body });
  });
  socket.on('room', (m: Chat) => {
    if (m.room !== undefined) socket.to(m.room).emit('chat', { from: id, body: m.body });
  });
});

exitWithParent();
const { port, host } = listenPort();
http.listen(port, host);
