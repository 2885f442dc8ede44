// Any other change: a JSON merge patch (RFC 7396) of the whole document,
// planned and committed through the same panel as every change.
import { html } from './html.js';
import { byId, render, type View } from './dom.js';
import { stage } from './change.js';

export const editView: View = {
  id: 'edit',
  title: 'Edit',
  mount(root) {
    render(root, html`<p class="card muted needs-admin-note">Changing the configuration needs a token of scope admin.</p>
    <form id="patch-form" class="card" data-needs="admin">
      <h2>Change the configuration</h2>
      <p class="muted">A JSON merge patch: objects merge key by key, <code>null</code> removes a key, anything else (lists too) replaces the value.
        Example: <code>{"system": {"reconcile_interval_s": 60}}</code></p>
      <textarea name="patch" rows="10" spellcheck="false" required></textarea>
      <p id="patch-error" class="error" hidden></p>
      <button type="submit" class="primary">Preview plan</button>
    </form>`);
    byId<HTMLFormElement>('patch-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const text = String(new FormData(event.target as HTMLFormElement).get('patch') ?? '');
      const problem = byId('patch-error');
      let patch: unknown;
      try {
        patch = JSON.parse(text);
      } catch (error) {
        problem.textContent = `not JSON: ${(error as Error).message}`;
        problem.hidden = false;
        return;
      }
      problem.hidden = true;
      void stage({ label: 'merge patch of the configuration', method: 'PATCH', path: '/v1/config', body: patch, takesComment: true });
    });
  },
  async load() {
    return html``;
  },
};
