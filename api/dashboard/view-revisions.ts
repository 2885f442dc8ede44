// Revisions, newest first: each one's config-level diff against its parent
// (GET /v1/revisions/{id}/diff) and a rollback, which goes through the
// plan panel like every change (a rollback is a new revision).
import { apiPath, get } from './api.js';
import { html } from './html.js';
import { byId, onAction, render, type View } from './dom.js';
import { formatTime } from './format.js';
import { configChangesHtml, type DocumentChange } from './plan.js';
import { stage } from './change.js';

const LIMIT = 50;

interface RevisionSummary {
  id: number;
  createdAt: string;
  author: string;
  comment: string;
  source: string;
  parent: number | null;
}

onAction('revision-diff', async (button) => {
  const id = Number(button.dataset.revision);
  const diff = await get<{ from: number | null; to: number; changes: DocumentChange[] }>(apiPath`/v1/revisions/${id}/diff`);
  render(byId('revision-diff'), html`<h2>Revision ${diff.to} against ${diff.from === null ? 'an empty document' : `revision ${diff.from}`}</h2>${configChangesHtml(diff.changes)}`);
});

onAction('revision-rollback', (button) => {
  const id = Number(button.dataset.revision);
  return stage({ label: `roll back to revision ${id}`, method: 'POST', path: apiPath`/v1/revisions/${id}/rollback` });
});

export const revisionsView: View = {
  id: 'revisions',
  title: 'Revisions',
  mount(root) {
    render(root, html`<div id="revision-diff" class="card"><p class="muted">Pick a revision's "Diff" to see what it changed.</p></div>`);
  },
  async load() {
    const { current, revisions } = await get<{ current: number | null; revisions: RevisionSummary[] }>('/v1/revisions', { limit: String(LIMIT) });
    return html`<table class="data" id="revisions-table"><thead><tr><th>revision</th><th>when</th><th>author</th><th>source</th><th>comment</th><th></th></tr></thead>
      <tbody>${revisions.map((r) => html`<tr data-revision="${r.id}"${r.id === current ? html` class="current"` : ''}>
        <td><strong>${r.id}</strong>${r.id === current ? html` <span class="badge good">current</span>` : ''}</td>
        <td>${formatTime(r.createdAt)}</td><td>${r.author}</td><td>${r.source}</td><td>${r.comment}</td>
        <td><button type="button" data-action="revision-diff" data-revision="${r.id}">Diff</button>
          ${r.id === current ? '' : html`<button type="button" data-action="revision-rollback" data-revision="${r.id}" data-needs="admin">Roll back to…</button>`}</td></tr>`)}</tbody></table>
      ${revisions.length === LIMIT ? html`<p class="muted">The newest ${LIMIT} are shown.</p>` : ''}`;
  },
};
