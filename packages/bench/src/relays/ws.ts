/**
 * The bare `ws` relay: the ceiling of the transport. No auth, no storage, no acks.
 * A client connects to `/?id=<name>&rooms=<a,b>`; a frame `{"to":id,"body"}` goes to that
 * client, `{"room","body"}` to every other member of the room, as `{"from","body"}`.
 * It parses and re-serialises each frame because any real relay has to look inside.
 */
import { WebSocketServer } from 'ws';
import { relayHttpServer, exitWithParent, listenPort } from './common.js';
import { RelayDirectory, type RelayFrame } from './directory.js';

const directory = new RelayDirectory();

const http = relayHttpServer(() => directory.size);
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 64 * 1024 });

wss.on('connection', (socket, req) => {
  const id = directory.join(socket, req.url);
  socket.on('message', (data) => {
    let frame: RelayFrame;
    try {
      frame = JSON.parse(String(data)) as RelayFrame;
    } catch {
      return;
    }
    directory.forward(socket, id, frame);
  });
});

exitWithParent();
const { port, host } = listenPort();
http.listen(port, host);
