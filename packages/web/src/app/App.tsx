import { useEffect } from 'react';
import { AuthScreen } from '../components/AuthScreen';
import { usePort, useSnapshot } from './hooks';
import { Messenger } from './Messenger';

export function App() {
  const port = usePort();
  const { auth } = useSnapshot();

  useEffect(() => {
    // A refresh cookie from an earlier visit signs us straight back in.
    port.resume().catch(() => undefined);
  }, [port]);

  if (auth.status === 'unknown') {
    return (
      <main className="splash" aria-busy="true">
        <p>Loading Letter…</p>
      </main>
    );
  }
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
  return <Messenger me={auth.user} />;
}
