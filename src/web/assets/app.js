// Progressive enhancement for the task-manager UI. Every flow works without this
// file; with it, common actions call the JSON API in place and keyboard shortcuts work.
const root = document.documentElement;
root.classList.add('js');

const $ = (sel, el = document) => el.querySelector(sel);
const $$ = (sel, el = document) => Array.from(el.querySelectorAll(sel));

function announce(text) {
  const live = $('#live');
  if (!live) return;
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 30);
}

async function api(method, path, body, headers = {}) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    let detail = res.statusText;
    try { detail = (await res.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new Error(detail);
  }
  return res.status === 204 ? null : res.json();
}

// Re-renders the page's main region from the server, keeping the rest of the page.
async function refresh(focusSelector) {
  const res = await fetch(location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
  const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
  const fresh = doc.querySelector('main');
  const main = $('main');
  if (fresh && main) main.replaceChildren(...fresh.childNodes);
  init();
  if (focusSelector) {
    const el = $(focusSelector);
    if (el) { el.focus(); select(el); }
  }
}

// The recurrence picker shows the fields of the chosen kind only.
function showRepeatFields() {
  const kind = $('#repeat-kind');
  if (!kind) return;
  $$('[data-repeat]').forEach((el) => { el.hidden = !el.dataset.repeat.split(' ').includes(kind.value); });
}
document.addEventListener('change', (e) => { if (e.target.id === 'repeat-kind') showRepeatFields(); });

function init() {
  showRepeatFields();
  $$('[data-preview]').forEach((b) => { b.hidden = false; });
  $$('[data-detect-zone]').forEach((i) => {
    if (!i.value) {
      try { i.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (_) { /* keep empty */ }
    }
  });
}

// Quick add: create through the API, then show the new task in place.
document.addEventListener('submit', async (e) => {
  const form = e.target.closest('[data-quick-add]');
  if (!form) return;
  e.preventDefault();
  const m = form.getAttribute('action').match(/^\/projects\/(\d+)\/tasks$/);
  const input = form.elements.title;
  try {
    await api('POST', `/api/v1/projects/${m[1]}/tasks`, { title: input.value });
    announce(`Task “${input.value}” added.`);
    await refresh('#quick-title');
  } catch (_) {
    form.submit();
  }
});

// In-place status change in the list.
document.addEventListener('change', async (e) => {
  const select = e.target;
  const form = select.closest('[data-status-form]');
  if (!form || select.name !== 'status') return;
  const row = form.closest('[data-task]');
  // Completing a task with subtasks: the server asks first what to do with them.
  if (select.value === 'done' && Number(row.dataset.subtasks) > 0) { form.submit(); return; }
  try {
    const task = await api('PATCH', `/api/v1/tasks/${row.dataset.task}`, { status: select.value });
    row.dataset.version = task.version;
    announce(`Status set to ${select.options[select.selectedIndex].text}.`);
    // Completing a repeating task created the next one: show it.
    if (task.next_occurrence) { await refresh(); announce('Task completed. The next occurrence was created.'); }
  } catch (_) {
    form.submit();
  }
});

// Markdown preview on the task page.
document.addEventListener('click', async (e) => {
  const button = e.target.closest('[data-preview]');
  if (!button) return;
  const field = document.getElementById(button.dataset.preview);
  const out = document.getElementById(`${button.dataset.preview}-preview`);
  const body = new URLSearchParams({ _csrf: $('meta[name="csrf-token"]').content, text: field.value });
  const res = await fetch('/preview', { method: 'POST', credentials: 'same-origin', body });
  out.innerHTML = res.ok ? await res.text() : '<p>Preview unavailable.</p>';
  out.hidden = false;
});

// Inline title edit on the task page.
function editTitle() {
  const h1 = $('#task-title[data-inline-edit]');
  if (!h1 || $('input', h1)) return;
  const old = h1.textContent;
  const input = document.createElement('input');
  input.value = old;
  input.maxLength = 200;
  input.setAttribute('aria-label', 'Task title (Enter saves, Escape cancels)');
  h1.replaceChildren(input);
  input.focus();
  input.select();
  let done = false;
  const cancel = () => { if (!done) { done = true; h1.textContent = old; h1.focus(); } };
  input.addEventListener('keydown', async (e) => {
    if (e.key === 'Escape') { e.preventDefault(); cancel(); }
    if (e.key !== 'Enter') return;
    e.preventDefault();
    done = true;
    try {
      await api('PATCH', `/api/v1/tasks/${h1.dataset.task}`, { title: input.value }, { 'If-Match': `"${h1.dataset.version}"` });
      announce('Title saved.');
      await refresh('#task-title');
    } catch (err) {
      done = false;
      input.setCustomValidity(err.message);
      input.reportValidity();
    }
  });
  input.addEventListener('input', () => input.setCustomValidity(''));
  input.addEventListener('blur', cancel);
}
document.addEventListener('click', (e) => {
  if (e.target.matches('#task-title[data-inline-edit]')) editTitle();
});

// Board: move a card through the API, then re-render the board.
async function moveCard(card, status, neighbour) {
  if (status === 'done' && Number(card.dataset.subtasks) > 0) {
    // The server asks first what to do with the subtasks.
    location.href = `/tasks/${card.dataset.task}/complete?return=${encodeURIComponent(location.pathname)}`;
    return;
  }
  const body = { status };
  if (neighbour && neighbour.after) body.after_id = Number(neighbour.after);
  if (neighbour && neighbour.before) body.before_id = Number(neighbour.before);
  const title = $('.card-title', card).textContent;
  root.dataset.busy = '1';
  try {
    await api('POST', `/api/v1/tasks/${card.dataset.task}/move`, body);
    const column = $(`.column[data-status="${status}"] h2`);
    announce(`Moved “${title}” to ${column ? column.firstChild.textContent.trim() : status}.`);
  } catch (err) {
    announce(`Could not move “${title}”: ${err.message}`);
  }
  await refresh(`.card[data-task="${card.dataset.task}"]`);
  delete root.dataset.busy;
}

function neighboursOf(card) {
  const prev = card.previousElementSibling && card.previousElementSibling.closest('.card');
  const next = card.nextElementSibling && card.nextElementSibling.closest('.card');
  if (prev) return { after: prev.dataset.task };
  if (next) return { before: next.dataset.task };
  return null;
}

let drag = null;
document.addEventListener('dragstart', (e) => { if (e.target.closest && e.target.closest('[data-board] .card')) e.preventDefault(); });
document.addEventListener('pointerdown', (e) => {
  const card = e.target.closest('[data-board][data-editable] .card');
  if (!card || e.button !== 0 || e.target.closest('button, select, input, summary, form, label')) return;
  drag = { card, x: e.clientX, y: e.clientY, started: false };
});
document.addEventListener('pointermove', (e) => {
  if (!drag) return;
  const { card } = drag;
  if (!drag.started) {
    if (Math.hypot(e.clientX - drag.x, e.clientY - drag.y) < 6) return;
    const r = card.getBoundingClientRect();
    drag.started = true;
    drag.dx = drag.x - r.left;
    drag.dy = drag.y - r.top;
    drag.placeholder = document.createElement('li');
    drag.placeholder.className = 'card-placeholder';
    drag.placeholder.style.height = `${r.height}px`;
    card.after(drag.placeholder);
    card.style.width = `${r.width}px`;
    card.classList.add('dragging');
  }
  card.style.left = `${e.clientX - drag.dx}px`;
  card.style.top = `${e.clientY - drag.dy}px`;
  const under = document.elementFromPoint(e.clientX, e.clientY);
  const column = under && under.closest('.column');
  $$('.column.drop-target').forEach((c) => c.classList.remove('drop-target'));
  if (!column) return;
  column.classList.add('drop-target');
  const list = $('.cards', column);
  const after = $$('.card:not(.dragging)', list).find((c) => {
    const r = c.getBoundingClientRect();
    return e.clientY < r.top + r.height / 2;
  });
  if (after) after.before(drag.placeholder); else list.append(drag.placeholder);
});
document.addEventListener('pointerup', async () => {
  if (!drag) return;
  const { card, started, placeholder } = drag;
  drag = null;
  if (!started) return;
  $$('.column.drop-target').forEach((c) => c.classList.remove('drop-target'));
  card.classList.remove('dragging');
  card.style.left = card.style.top = card.style.width = '';
  placeholder.replaceWith(card);
  const status = card.closest('.column').dataset.status;
  await moveCard(card, status, neighboursOf(card));
});
document.addEventListener('click', (e) => {
  if (e.target.closest('.card') && e.target.closest('.card').dataset.justDragged) e.preventDefault();
}, true);

// Keyboard moves on the board: Shift + arrows on a focused card.
document.addEventListener('keydown', async (e) => {
  const card = e.target.closest && e.target.closest('[data-board][data-editable] .card');
  if (!card || e.target !== card || !e.shiftKey || !e.key.startsWith('Arrow')) return;
  e.preventDefault();
  const columns = $$('.column');
  const column = card.closest('.column');
  const i = columns.indexOf(column);
  if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
    const target = columns[i + (e.key === 'ArrowLeft' ? -1 : 1)];
    if (!target) return;
    $('.cards', target).append(card);
    await moveCard(card, target.dataset.status, neighboursOf(card));
  } else {
    const sibling = e.key === 'ArrowUp' ? card.previousElementSibling : card.nextElementSibling;
    if (!sibling) return;
    const status = column.dataset.status;
    await moveCard(card, status, e.key === 'ArrowUp' ? { before: sibling.dataset.task } : { after: sibling.dataset.task });
  }
});

// Shortcuts: n new task, / search, j/k next/previous, e edit, ? help.
function select(el) {
  $$('[data-item].is-selected').forEach((i) => i.classList.remove('is-selected'));
  const item = el.closest('[data-item]');
  if (item) item.classList.add('is-selected');
}
document.addEventListener('focusin', (e) => { if (e.target.closest('[data-item]')) select(e.target); });

document.addEventListener('keydown', (e) => {
  const t = e.target;
  if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
  if (t.closest && t.closest('input, textarea, select, [contenteditable]')) return;
  const items = $$('[data-item]');
  const current = items.findIndex((i) => i.classList.contains('is-selected') || i.contains(document.activeElement));
  switch (e.key) {
    case 'n': {
      const field = $('[data-shortcut="n"]');
      if (field) { e.preventDefault(); field.focus(); }
      break;
    }
    case '/': {
      const field = $('[data-shortcut="/"]');
      if (field) {
        e.preventDefault();
        const details = field.closest('details');
        if (details) details.open = true;
        field.focus();
      }
      break;
    }
    case 'j':
    case 'k': {
      if (!items.length) return;
      e.preventDefault();
      let next = current + (e.key === 'j' ? 1 : -1);
      if (current < 0) next = 0;
      next = Math.max(0, Math.min(items.length - 1, next));
      const item = items[next];
      const target = item.hasAttribute('tabindex') ? item : ($('.task-link', item) || item);
      target.focus();
      select(target);
      break;
    }
    case 'e': {
      if ($('#task-title[data-inline-edit]')) { e.preventDefault(); editTitle(); break; }
      const item = items[current];
      const link = item && $('.task-link', item);
      if (link) { e.preventDefault(); location.href = `${link.getAttribute('href')}#edit-form`; }
      break;
    }
    case '?': {
      const help = $('#help');
      if (help && typeof help.showModal === 'function' && !help.open) { e.preventDefault(); help.showModal(); }
      break;
    }
    default:
  }
});

init();
