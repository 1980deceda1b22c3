/** A failure said in the chat (role alert), until the reader dismisses it. */
export function ErrorBar({ message, onDismiss }: { message: string; onDismiss: () => void }) {
  return (
    <p className="chat-error" role="alert">
      {message}{' '}
      <button type="button" className="link-button" onClick={onDismiss}>
        Dismiss
      </button>
    </p>
  );
}
