/**
 * What a round must leave behind, once every client is back and caught up: every acknowledged
 * message in the server's history and in every member's client state exactly once, seqs
 * gap-free, nothing stuck in an outbox.
 *
 * - lost: acked but missing on the server, or on a member client after its sync (or a second
 *   ack naming another seq for the same clientMsgId);
 * - duplicated: the same (sender, clientMsgId) or seq twice in the server's history, or in a
 *   client's state after the sdk's dedup (timeline plus pending);
 * - gaps: seqs missing from the server's history (1..lastSeq);
 * - stuck: composed but still pending or failed in an outbox after recovery.
 */
import type { Message } from '@letter/protocol';
import type { ChaosClient } from './clients.js';

export interface Conversation {
  id: string;
  members: ChaosClient[];
}

export interface Findings {
  lost: string[];
  duplicated: string[];
  gaps: string[];
  stuck: string[];
}

const key = (senderId: string, clientMsgId: string) => `${senderId}/${clientMsgId}`;

/** True once every client is online, synced, with an empty outbox and every ack held. */
export function converged(conversations: Conversation[], clients: ChaosClient[]): boolean {
  for (const client of clients) {
    const state = client.state;
    if (state.connection !== 'online' || state.syncing || client.pendingCount() > 0) return false;
  }
  for (const conversation of conversations) {
    const wanted = ackedIn(conversation, clients);
    for (const member of conversation.members) {
      const held = new Set(heldKeys(member, conversation.id));
      for (const k of wanted.keys()) if (!held.has(k)) return false;
    }
  }
  return true;
}

/** Every ack of the conversation: (sender, clientMsgId) → seq. */
function ackedIn(conversation: Conversation, clients: ChaosClient[]): Map<string, number> {
  const acked = new Map<string, number>();
  for (const client of clients) {
    for (const ack of client.acks.values()) {
      if (ack.conversationId === conversation.id) {
        acked.set(key(client.userId, ack.clientMsgId), ack.seq);
      }
    }
  }
  return acked;
}

function heldKeys(client: ChaosClient, conversationId: string): string[] {
  const messages = client.state.timelines[conversationId]?.messages ?? [];
  return messages
    .filter((m) => m.senderId !== null && m.clientMsgId !== null)
    .map((m) => key(m.senderId!, m.clientMsgId!));
}

/** The whole history, paged forward over REST with a member's session. */
export async function serverHistory(reader: ChaosClient, conversationId: string) {
  const messages: Message[] = [];
  for (;;) {
    const after = messages.at(-1)?.seq ?? 0;
    const page = await retried(() => reader.sdk.api.history(conversationId, { after, limit: 200 }));
    messages.push(...page.messages);
    if (!page.hasMore || page.messages.length === 0) return messages;
  }
}

/** A read right after recovery may still meet a reconnecting pool: up to 20 s of retries. */
async function retried<T>(read: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export async function verify(
  conversations: Conversation[],
  clients: ChaosClient[],
): Promise<Findings> {
  const findings: Findings = { lost: [], duplicated: [], gaps: [], stuck: [] };
  for (const client of clients) {
    for (const conflict of client.conflictingAcks) {
      findings.lost.push(`${client.username}: conflicting acks ${conflict}`);
    }
    for (const list of Object.values(client.state.pending)) {
      for (const p of list) {
        findings.stuck.push(`${client.username}: ${p.clientMsgId} ${p.status} ${p.error ?? ''}`);
      }
    }
  }
  for (const conversation of conversations) {
    const acked = ackedIn(conversation, clients);
    const history = await serverHistory(conversation.members[0]!, conversation.id);
    history.forEach((m, i) => {
      if (m.seq !== i + 1) findings.gaps.push(`${conversation.id}: seq ${m.seq} at ${i + 1}`);
    });
    checkCopies(`server ${conversation.id}`, history, findings);
    const stored = new Map(
      history
        .filter((m) => m.senderId !== null && m.clientMsgId !== null)
        .map((m) => [key(m.senderId!, m.clientMsgId!), m.seq]),
    );
    for (const [k, seq] of acked) {
      const found = stored.get(k);
      if (found === undefined)
        findings.lost.push(`server ${conversation.id}: ${k} (acked seq ${seq})`);
      else if (found !== seq)
        findings.lost.push(`server ${conversation.id}: ${k} acked ${seq}, stored ${found}`);
    }
    for (const member of conversation.members) {
      const state = member.state;
      const messages = state.timelines[conversation.id]?.messages ?? [];
      checkCopies(`${member.username} ${conversation.id}`, messages, findings);
      const held = new Map(
        messages
          .filter((m) => m.senderId !== null && m.clientMsgId !== null)
          .map((m) => [key(m.senderId!, m.clientMsgId!), m.seq]),
      );
      for (const [k, seq] of acked) {
        const heldSeq = held.get(k);
        if (heldSeq === undefined) {
          findings.lost.push(`${member.username} ${conversation.id}: ${k} (seq ${seq})`);
        } else if (heldSeq !== seq) {
          findings.lost.push(
            `${member.username} ${conversation.id}: ${k} acked ${seq}, held ${heldSeq}`,
          );
        }
      }
      for (const p of state.pending[conversation.id] ?? []) {
        if (held.has(key(member.userId, p.clientMsgId))) {
          findings.duplicated.push(`${member.username}: ${p.clientMsgId} pending and held`);
        }
      }
    }
  }
  return findings;
}

/** The same seq, or the same (sender, clientMsgId), twice in one list. */
function checkCopies(where: string, messages: readonly Message[], findings: Findings): void {
  const seqs = new Set<number>();
  const ids = new Set<string>();
  for (const m of messages) {
    if (seqs.has(m.seq)) findings.duplicated.push(`${where}: seq ${m.seq} twice`);
    seqs.add(m.seq);
    if (m.senderId === null || m.clientMsgId === null) continue;
    const k = key(m.senderId, m.clientMsgId);
    if (ids.has(k)) findings.duplicated.push(`${where}: ${k} twice`);
    ids.add(k);
  }
}
