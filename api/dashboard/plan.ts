// How a plan reads on the page: the config-level diff (which objects change,
// old -> new, by document path) and the kernel-level lines per subsystem
// (what apply adds and removes, by content), exactly as the API's dry run
// returned them. Also a commit's result. Pure: no DOM.
import { html, jsonText, type SafeHtml } from './html.js';

export interface DocumentChange {
  op: 'add' | 'remove' | 'change';
  path: string;
  before?: unknown;
  after?: unknown;
}

export interface SubsystemPlan {
  subsystem: string;
  add: string[];
  remove: string[];
  reordered: boolean;
  added: number;
  removed: number;
  truncated: boolean;
}

export interface Plan {
  changed: boolean;
  config: DocumentChange[];
  subsystems: SubsystemPlan[];
  counts: { configChanges: number; added: number; removed: number };
}

export interface CommitAnswer {
  dry_run: boolean;
  changed: boolean;
  revision?: { id: number; comment?: string };
  plan: Plan;
  pending_confirm?: { revision: number; revert_to: number | null; deadline: string; seconds_left: number } | null;
  warnings?: Array<{ path?: string; message: string }>;
  actions?: Record<string, string[]>;
}

const OP_SIGN = { add: '+', remove: '−', change: '~' } as const;
const OP_CLASS = { add: 'add', remove: 'del', change: 'chg' } as const;

/** The config-level changes as a table (also used for a revision's diff). */
export function configChangesHtml(changes: DocumentChange[], total = changes.length): SafeHtml {
  if (changes.length === 0) return html`<p class="muted">No configuration changes.</p>`;
  return html`<table class="diff config-diff">
    <thead><tr><th></th><th>path</th><th>before</th><th>after</th></tr></thead>
    <tbody>${changes.map((c) => html`<tr class="${OP_CLASS[c.op] ?? 'chg'}">
      <td>${OP_SIGN[c.op] ?? '?'}</td><td><code>${c.path}</code></td>
      <td><code>${jsonText(c.before)}</code></td><td><code>${jsonText(c.after)}</code></td></tr>`)}</tbody>
  </table>${total > changes.length ? html`<p class="muted">${changes.length} of ${total} changes shown.</p>` : ''}`;
}

function subsystemHtml(s: SubsystemPlan): SafeHtml {
  return html`<details open class="kernel-plan"><summary>${s.subsystem}: +${s.added} −${s.removed}${s.reordered ? ' (reordered)' : ''}</summary>
    <pre>${s.remove.map((line) => html`<span class="del">- ${line}\n</span>`)}${s.add.map((line) => html`<span class="add">+ ${line}\n</span>`)}</pre>
    ${s.truncated ? html`<p class="muted">The first lines of ${s.added + s.removed} are shown.</p>` : ''}</details>`;
}

export function planHtml(plan: Plan, warnings: CommitAnswer['warnings'] = []): SafeHtml {
  const touched = plan.subsystems.filter((s) => s.added || s.removed || s.reordered);
  return html`<div class="plan">
    <p class="plan-summary">${plan.changed ? 'Applying changes the system' : 'Applying would change nothing in the kernel or the daemons'}:
      ${plan.counts.configChanges} configuration change(s), ${plan.counts.added} line(s) added, ${plan.counts.removed} removed.</p>
    ${warnings?.length ? html`<ul class="warnings">${warnings.map((w) => html`<li><code>${w.path ?? ''}</code> ${w.message}</li>`)}</ul>` : ''}
    <h3>Configuration</h3>${configChangesHtml(plan.config, plan.counts.configChanges)}
    <h3>Kernel and daemons</h3>${touched.length ? touched.map(subsystemHtml) : html`<p class="muted">Nothing to apply.</p>`}
  </div>`;
}

export function commitResultHtml(answer: CommitAnswer): SafeHtml {
  const actions = Object.entries(answer.actions ?? {}).filter(([, list]) => list.length);
  const pending = answer.pending_confirm;
  return html`<div class="commit-result">
    <p class="ok">Committed revision ${answer.revision?.id ?? '?'}.</p>
    ${pending ? html`<p class="pending">It reverts to revision ${pending.revert_to ?? 'none'} in ${pending.seconds_left} s unless confirmed (banner above).</p>` : ''}
    ${actions.length ? html`<h3>Applied</h3><pre>${actions.map(([subsystem, list]) => list.map((line) => html`${subsystem}: ${line}\n`))}</pre>` : html`<p class="muted">The kernel already matched; nothing was run.</p>`}
  </div>`;
}
