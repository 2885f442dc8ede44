// Every change made from the dashboard goes plan first: the request runs as
// a dry run, the page shows the plan, and only "Commit" sends it for real,
// with If-Match set to the revision the plan was made on. If anyone commits
// in between, the API answers 412 and the operator gets a fresh plan
// instead of applying something they did not see. A commit may carry a
// confirm timeout (it reverts by itself unless confirmed).
import { request, ApiError } from './api.js';
import { html, type SafeHtml } from './html.js';
import { byId, errorHtml, render } from './dom.js';
import { commitResultHtml, planHtml, type CommitAnswer } from './plan.js';

export interface Change {
  /** what the operator asked for, in words */
  label: string;
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  /** the endpoint stores a comment with the revision (a rollback writes its own) */
  takesComment?: boolean;
}

let staged: { change: Change; etag: string | null } | undefined;
let afterCommit: () => void = () => undefined;

export function whenCommitted(listener: () => void): void {
  afterCommit = listener;
}

const panel = () => byId('change-panel');
/** ETag "7" -> 7, for reading */
const revisionOf = (etag: string | null) => (etag ? etag.replace(/^W\/|"/g, '') : '(none)');

/** Closes the panel (a plan not committed is dropped: nothing was applied). */
export function closeChangePanel(): void {
  staged = undefined;
  panel().hidden = true;
  render(panel(), html``);
}

/** Shows the plan of a change (a dry run) with the commit form under it. */
export async function stage(change: Change, notice?: SafeHtml): Promise<void> {
  const target = panel();
  target.hidden = false;
  render(target, html`<h2>Plan: ${change.label}</h2><p class="muted">Planning…</p>`);
  target.scrollIntoView({ block: 'start' });
  try {
    const answer = await request<CommitAnswer>(change.method, change.path, { body: change.body, query: { dry_run: 'true' } });
    staged = { change, etag: answer.etag };
    render(target, html`<h2>Plan: ${change.label}</h2>${notice}
      <p class="muted">Planned on revision ${revisionOf(answer.etag)}: nothing is applied until you commit.</p>
      ${planHtml(answer.body.plan, answer.body.warnings)}
      <form id="commit-form" class="inline">
        ${change.takesComment ? html`<label>Comment <input name="comment" maxlength="256" autocomplete="off"></label>` : ''}
        <label>Confirm within <input name="confirm_timeout" type="number" min="1" max="3600" placeholder="no timeout"> s</label>
        <button type="submit" id="commit-button" class="primary">Commit</button>
        <button type="button" id="discard-button">Discard</button>
      </form>`);
    byId('discard-button').addEventListener('click', closeChangePanel);
    byId<HTMLFormElement>('commit-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void commit(new FormData(event.target as HTMLFormElement));
    });
  } catch (error) {
    staged = undefined;
    render(target, html`<h2>Plan: ${change.label}</h2>${errorHtml(error)}<button type="button" id="discard-button">Close</button>`);
    byId('discard-button').addEventListener('click', closeChangePanel);
  }
}

async function commit(form: FormData): Promise<void> {
  if (!staged) return;
  const { change, etag } = staged;
  const comment = String(form.get('comment') ?? '').trim();
  const timeout = String(form.get('confirm_timeout') ?? '').trim();
  byId('commit-button').setAttribute('disabled', '');
  try {
    const answer = await request<CommitAnswer>(change.method, change.path, {
      body: change.body,
      ifMatch: etag,
      query: { comment: change.takesComment && comment ? comment : undefined, confirm_timeout: timeout || undefined },
    });
    staged = undefined;
    render(panel(), html`<h2>${change.label}</h2>${commitResultHtml(answer.body)}<button type="button" id="discard-button">Close</button>`);
    byId('discard-button').addEventListener('click', closeChangePanel);
    afterCommit();
  } catch (error) {
    if (error instanceof ApiError && error.status === 412) {
      // someone committed since the plan: plan again, never apply blind
      await stage(change, html`<p class="error">The configuration changed since that plan was made; here is a new one.</p>`);
      return;
    }
    render(panel(), html`<h2>${change.label}</h2>${errorHtml(error)}<button type="button" id="discard-button">Close</button>`);
    byId('discard-button').addEventListener('click', closeChangePanel);
  }
}
