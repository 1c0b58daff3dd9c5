/**
 * The console's only script, served as a file (the pages' Content-Security-Policy allows
 * scripts from the console itself and nothing else). It listens to the server-sent events and,
 * when a call on the page changed, fetches the page's content again and swaps it in: the
 * HTML comes from the server, escaped there; nothing from the log is interpreted here.
 */
export const CLIENT_JS = `(() => {
  'use strict';
  const main = document.getElementById('main');
  const status = document.getElementById('live');
  if (!main || !main.dataset.events || typeof EventSource !== 'function') return;
  const call = main.dataset.call;
  const say = (text, on) => { if (status) { status.textContent = text; status.classList.toggle('on', on); } };
  let busy = false;
  let again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const url = new URL(location.href);
      url.searchParams.set('fragment', '1');
      const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' } });
      if (res.ok) {
        const open = new Set([...main.querySelectorAll('details[open][data-key]')].map((d) => d.dataset.key));
        main.innerHTML = await res.text();
        for (const d of main.querySelectorAll('details[data-key]')) if (open.has(d.dataset.key)) d.open = true;
        main.dataset.updated = String(Number(main.dataset.updated || '0') + 1);
      }
    } catch (e) {
      say('update failed: ' + (e && e.message), false);
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }
  const source = new EventSource(main.dataset.events, { withCredentials: true });
  source.addEventListener('open', () => say('live', true));
  source.addEventListener('error', () => say('reconnecting ...', false));
  source.addEventListener('change', (event) => {
    let calls = [];
    try { calls = JSON.parse(event.data).calls || []; } catch { return; }
    if (call === undefined || calls.includes(call)) refresh();
  });
})();
`;
