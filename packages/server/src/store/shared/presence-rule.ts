/**
 * Who may see whose presence (online, last seen): the one rule both SQL stores run, for the
 * `presence` events (`presenceAudience`), `GET /api/contacts` (`listContacts`) and
 * `POST /api/contacts` (`canSeePresence`).
 *
 * A viewer sees a subject's presence when they are mutual contacts (each added the other) or
 * share a conversation, and neither has blocked the other. Adding someone alone shows nothing:
 * they must add you back, so a stranger cannot watch anyone by knowing their username.
 *
 * Plain SQL that SQLite and PostgreSQL read alike; an operand is a column (`sql.ref`) or a value.
 */
import { sql, type RawBuilder } from 'kysely';

type Operand = RawBuilder<unknown> | string;

export function presenceVisible(viewer: Operand, subject: Operand): RawBuilder<boolean> {
  return sql<boolean>`(
    NOT EXISTS (
      SELECT 1 FROM blocks AS pb
      WHERE (pb.blocker_id = ${viewer} AND pb.blocked_id = ${subject})
         OR (pb.blocker_id = ${subject} AND pb.blocked_id = ${viewer})
    )
    AND (
      EXISTS (
        SELECT 1 FROM contacts AS pk
        INNER JOIN contacts AS pback
          ON pback.owner_id = pk.contact_id AND pback.contact_id = pk.owner_id
        WHERE pk.owner_id = ${viewer} AND pk.contact_id = ${subject}
      )
      OR EXISTS (
        SELECT 1 FROM members AS pmv
        INNER JOIN members AS pms ON pms.conversation_id = pmv.conversation_id
        WHERE pmv.user_id = ${viewer} AND pms.user_id = ${subject}
      )
    )
  )`;
}
