import { lazy, Suspense, useEffect } from 'react';
import { AuthScreen } from '../components/AuthScreen';
import { usePort, useSnapshot } from './hooks';

// The login screen does not wait for the messenger: it loads in its own chunk once signed in.
const Messenger = lazy(() => import('./Messenger').then((m) => ({ default: m.Messenger })));

function Splash() {
  return (
    <main className="splash" aria-busy="true">
      <h1 className="visually-hidden">Letter</h1>
      <p>Loading Letter…</p>
    </main>
  );
}

export function App() {
  const port = usePort();
  const { auth } = useSnapshot();

  useEffect(() => {
    // A refresh cookie from an earlier visit signs us straight back in.
    port.resume().catch(() => undefined);
  }, [port]);

  if (auth.status === 'unknown') return <Splash />;
  if (auth.status === 'signedOut' || !auth.user) {
    return (
      <AuthScreen
        onLogin={(username, password) => port.login(username, password)}
        onRegister={(username, password, displayName) =>
          port.register(username, password, displayName)
        }
      />
    );
  }
  return (
    <Suspense fallback={<Splash />}>
      <Messenger me={auth.user} />
    </Suspense>
  );
}
