export const COMMON_EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const;

export interface ReactionBarProps {
  reactions: Readonly<Record<string, readonly string[]>>;
  meId: string;
  nameOf: (userId: string) => string;
  /** Toggles my reaction: the emoji, or null to take mine back. */
  onToggle?: ((emoji: string | null) => void) | undefined;
}

/** Chips under a bubble: emoji and count; hover or focus lists who reacted. */
export function ReactionBar({ reactions, meId, nameOf, onToggle }: ReactionBarProps) {
  const entries = Object.entries(reactions).filter(([, users]) => users.length > 0);
  if (entries.length === 0) return null;
  return (
    <ul className="reactions" aria-label="Reactions">
      {entries.map(([emoji, users]) => {
        const mine = users.includes(meId);
        const names = users.map((id) => (id === meId ? 'You' : nameOf(id))).join(', ');
        return (
          <li key={emoji}>
            <button
              type="button"
              className={`reaction-chip${mine ? ' mine' : ''}`}
              aria-pressed={mine}
              aria-label={`${emoji} ${users.length}: ${names}`}
              title={names}
              onClick={() => onToggle?.(mine ? null : emoji)}
            >
              <span aria-hidden="true">{emoji}</span>
              <span className="reaction-count" aria-hidden="true">
                {users.length}
              </span>
              <span className="reaction-names" role="tooltip">
                {names}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}
