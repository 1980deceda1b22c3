import type { Contact } from '@letter/protocol';
import { Avatar } from './Avatar';

/** Contacts with a checkbox each: who goes into a new group, or is added to one. */
export function ContactPicker(props: {
  contacts: readonly Contact[];
  picked: ReadonlySet<string>;
  onChange: (picked: ReadonlySet<string>) => void;
}) {
  const toggle = (id: string) => {
    const next = new Set(props.picked);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    props.onChange(next);
  };
  return (
    <ul className="people">
      {props.contacts.map((contact) => (
        <li key={contact.user.id}>
          <label className="person person-check">
            <input
              type="checkbox"
              checked={props.picked.has(contact.user.id)}
              onChange={() => toggle(contact.user.id)}
            />
            <Avatar name={contact.user.displayName} colorKey={contact.user.id} />
            <span className="person-name">{contact.user.displayName}</span>
          </label>
        </li>
      ))}
    </ul>
  );
}
