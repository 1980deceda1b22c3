// First: zod must know it may not compile parsers before any schema is built.
import './lib/zod-jitless';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import {
  IndexedDbOutboxStorage,
  IndexedDbSavedStateStorage,
  LetterClient,
  MemoryOutboxStorage,
} from '@letter/sdk';
import { App } from './app/App';
import { PortContext } from './app/hooks';
import { createSdkPort } from './app/sdk-port';
import { registerServiceWorker } from './lib/service-worker';
import './styles/index.css';

function outboxStorage() {
  // Private windows in some browsers have no IndexedDB: unsent messages then live in memory.
  try {
    return new IndexedDbOutboxStorage();
  } catch {
    return new MemoryOutboxStorage();
  }
}

/** The last synced chat list, shown when Letter opens without a network (none: no IndexedDB). */
function savedStateStorage() {
  try {
    return new IndexedDbSavedStateStorage();
  } catch {
    return undefined;
  }
}

// Cookie mode: the refresh token stays in the server's HttpOnly cookie; the access token only
// ever lives in this client's memory.
const client = new LetterClient({
  authMode: 'cookie',
  outboxStorage: outboxStorage(),
  savedStateStorage: savedStateStorage(),
});
client.events.on('error', ({ context, error }) => console.warn(`letter: ${context}`, error));
const port = createSdkPort(client);

registerServiceWorker();

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');
createRoot(root).render(
  <StrictMode>
    <PortContext.Provider value={port}>
      <App />
    </PortContext.Provider>
  </StrictMode>,
);
