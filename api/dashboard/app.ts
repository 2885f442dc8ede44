// The dashboard's entry: the login form (the token goes to sessionStorage,
// and is checked against the API before the views show), navigation by
// #view, a poll that redraws the current view's live part every POLL_MS
// (errors shown above it, the last good data kept), and the banner of a
// commit that awaits confirmation. Controls the token's scope does not
// allow are not shown (data-needs, style.css); the API refuses them anyway.
import { get, request, session, whenUnauthorized } from './api.js';
import { html } from './html.js';
import { byId, errorHtml, listenForActions, onAction, onRefreshRequest, render, requestRefresh, type View } from './dom.js';
import { closeChangePanel, whenCommitted } from './change.js';
import { interfacesView } from './view-interfaces.js';
import { firewallView } from './view-firewall.js';
import { natView } from './view-nat.js';
import { vpnView } from './view-vpn.js';
import { bgpView } from './view-bgp.js';
import { dhcpView } from './view-dhcp.js';
import { revisionsView } from './view-revisions.js';
import { editView } from './view-edit.js';

const VIEWS: View[] = [interfacesView, firewallView, natView, vpnView, bgpView, dhcpView, revisionsView, editView];
const POLL_MS = 2000;

let current: View | undefined;
let loading = false;
let again = false;
let poll: number | undefined;

function showLogin(message?: string): void {
  session.clear();
  current?.unmount?.();
  current = undefined;
  if (poll !== undefined) clearInterval(poll);
  poll = undefined;
  // nothing read with the old token stays in the page
  closeChangePanel();
  for (const id of ['view-static', 'view-live', 'poll-error', 'confirm-banner']) render(byId(id), html``);
  delete document.body.dataset.scope;
  byId('whoami').textContent = '';
  byId('shell').hidden = true;
  byId('login').hidden = false;
  const problem = byId('login-error');
  problem.textContent = message ?? '';
  problem.hidden = !message;
  byId<HTMLInputElement>('token').focus();
}

async function showShell(): Promise<void> {
  byId('login').hidden = true;
  byId('shell').hidden = false;
  render(byId('nav'), html`${VIEWS.map((v) => html`<a href="#${v.id}" data-view="${v.id}">${v.title}</a>`)}`);
  poll ??= window.setInterval(() => {
    if (!document.hidden) requestRefresh();
  }, POLL_MS);
  await navigate();
}

async function navigate(): Promise<void> {
  if (!session.token()) return;
  const view = VIEWS.find((v) => `#${v.id}` === location.hash) ?? VIEWS[0]!;
  current?.unmount?.();
  current = view;
  closeChangePanel();
  for (const link of document.querySelectorAll<HTMLElement>('#nav a')) link.classList.toggle('active', link.dataset.view === view.id);
  document.title = `Junction · ${view.title}`;
  render(byId('view-static'), html``);
  render(byId('view-live'), html`<p class="muted">Loading…</p>`);
  try {
    await view.mount?.(byId('view-static'));
  } catch (error) {
    render(byId('view-static'), errorHtml(error));
  }
  await refresh();
}

/** Redraws the current view's live part; a request while one runs makes one more run after it. */
async function refresh(): Promise<void> {
  if (loading) {
    again = true;
    return;
  }
  loading = true;
  try {
    do {
      again = false;
      const view = current;
      if (!view) return;
      const [content] = await Promise.allSettled([view.load(), refreshConfirmBanner()]);
      if (view !== current) continue;
      if (content.status === 'fulfilled') {
        render(byId('view-live'), content.value);
        render(byId('poll-error'), html``);
        byId('updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
      } else {
        render(byId('poll-error'), errorHtml(content.reason));
      }
    } while (again);
  } finally {
    loading = false;
  }
}

async function refreshConfirmBanner(): Promise<void> {
  const { pending_confirm: pending } = await get('/v1/commit');
  const banner = byId('confirm-banner');
  banner.hidden = !pending;
  if (!pending) return render(banner, html``);
  render(banner, html`<p>Revision <strong>${pending.revision}</strong> reverts to revision ${pending.revert_to ?? 'none'} in
    <strong id="confirm-seconds">${pending.seconds_left}</strong> s (at ${new Date(pending.deadline).toLocaleTimeString()}) unless confirmed.</p>
    <button type="button" class="primary" data-action="commit-confirm" data-needs="operate">Confirm</button>
    <button type="button" data-action="commit-cancel" data-needs="operate">Revert now</button>`);
}

onAction('commit-confirm', async () => {
  await request('POST', '/v1/commit/confirm');
  requestRefresh();
});
onAction('commit-cancel', async () => {
  await request('POST', '/v1/commit/cancel');
  requestRefresh();
});
onAction('logout', () => showLogin());

/** The token's name and scope: the header says who is logged in, and the scope decides which controls show. */
async function whoAmI(): Promise<void> {
  const self: { name: string; scope: string; expiresAt: string | null } = await get('/v1/auth/self');
  document.body.dataset.scope = self.scope;
  byId('whoami').textContent = `${self.name} (${self.scope}${self.scope === 'read' ? ', read-only' : ''}${self.expiresAt ? `, until ${new Date(self.expiresAt).toLocaleString()}` : ''})`;
}

function start(): void {
  listenForActions((error) => render(byId('poll-error'), errorHtml(error)));
  onRefreshRequest(() => void refresh());
  whenCommitted(requestRefresh);
  whenUnauthorized(() => showLogin('The API refused the token (expired or revoked?). Log in again.'));
  window.addEventListener('hashchange', () => void navigate());
  byId<HTMLFormElement>('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>('token');
    const token = input.value.trim();
    input.value = '';
    if (!token) return;
    session.set(token);
    try {
      await whoAmI(); // a token-checked read: proves the token before the views show
      await showShell();
    } catch (error) {
      showLogin(error instanceof Error ? error.message : String(error));
    }
  });
  if (session.token()) void whoAmI().then(showShell, (error: unknown) => showLogin(error instanceof Error ? error.message : String(error)));
  else showLogin();
}

start();
