// The few DOM helpers the views share: the one place HTML enters the page
// (render, which takes only SafeHtml, through a Trusted Types policy), buttons wired by data-action through
// one delegated listener (so live tables can be redrawn every poll without
// re-binding), and the View shape the app navigates between.
import { html, type SafeHtml } from './html.js';
import { ApiError } from './api.js';

/**
 * Where the browser enforces Trusted Types (the CSP requires them), this
 * policy is the only way to assign HTML: any other innerHTML in the page
 * throws. Its input is always SafeHtml's text (render below).
 */
interface HtmlPolicy {
  createHTML(text: string): unknown;
}
const trustedTypes = (globalThis as { trustedTypes?: { createPolicy(name: string, rules: { createHTML(text: string): string }): HtmlPolicy } }).trustedTypes;
const htmlPolicy: HtmlPolicy | undefined = trustedTypes?.createPolicy('dashboard', { createHTML: (text) => text });

export function render(target: Element, content: SafeHtml): void {
  target.innerHTML = (htmlPolicy ? htmlPolicy.createHTML(content.text) : content.text) as string;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

/** What a button's data-action runs; it gets the button (its data-* attributes say which object). */
export type Action = (button: HTMLElement) => void | Promise<void>;
const actions = new Map<string, Action>();

export function onAction(name: string, action: Action): void {
  actions.set(name, action);
}

/** One listener for the whole page: a click on [data-action] runs its action once at a time. */
export function listenForActions(report: (error: unknown) => void): void {
  document.addEventListener('click', async (event) => {
    const button = (event.target as Element | null)?.closest<HTMLElement>('[data-action]');
    const action = button && actions.get(button.dataset.action ?? '');
    if (!button || !action || button.hasAttribute('disabled')) return;
    event.preventDefault();
    button.setAttribute('disabled', '');
    try {
      await action(button);
    } catch (error) {
      report(error);
    } finally {
      button.removeAttribute('disabled');
    }
  });
}

export interface View {
  id: string;
  title: string;
  /** the part drawn once per visit (forms that must keep what is typed) */
  mount?(root: HTMLElement): void | Promise<void>;
  /** leaving the view: stop what mount started */
  unmount?(): void;
  /** the live part, fetched and drawn on every poll */
  load(): Promise<SafeHtml>;
}

const REFRESH_EVENT = 'junction:refresh';
/** Asks the app to redraw the current view now instead of at the next poll. */
export const requestRefresh = (): void => void document.dispatchEvent(new Event(REFRESH_EVENT));
export const onRefreshRequest = (listener: () => void): void => document.addEventListener(REFRESH_EVENT, listener);

/** An error as the operator should read it: the API's message and each problem's document path. */
export function errorHtml(error: unknown): SafeHtml {
  if (error instanceof ApiError) {
    return html`<div class="error" role="alert"><strong>${error.status} ${error.code}</strong>: ${error.message}
      ${error.problems.length ? html`<ul>${error.problems.map((p) => html`<li><code>${p.path ?? ''}</code> ${p.message}</li>`)}</ul>` : ''}
      ${error.requestId ? html`<small>request ${error.requestId}</small>` : ''}</div>`;
  }
  return html`<div class="error" role="alert">${error instanceof Error ? error.message : String(error)}</div>`;
}

/** A state word as a coloured badge; the class comes from a fixed list, never from the data. */
export function badge(state: string | undefined): SafeHtml {
  const s = (state ?? 'unknown').toLowerCase();
  const tone = ['up', 'established', 'installed'].includes(s) ? 'good' : ['down', 'idle', 'failed', 'stalled'].includes(s) ? 'bad' : 'neutral';
  return html`<span class="badge ${tone}">${state ?? 'unknown'}</span>`;
}
