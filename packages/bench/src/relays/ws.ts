/**
 * The bare `ws` relay: the ceiling of the transport. No auth, no storage, no acks.
 * A client connects to `/?id=<name>&rooms=<a,b>`; a frame `{"to":id,"body"}` goes to that
 * client, `{"room","body"}` to every other member of the room, as `{"from","body"}`.
 * It parses and re-serialises each frame because any real relay has to look inside.
 */
import { RelayDirectory, serveWsRelay } from './directory.js';

const directory = new RelayDirectory();

serveWsRelay(directory, (socket, id, frame) => directory.forward(socket, id, frame));
