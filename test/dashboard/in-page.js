// Functions the browser tests run inside the page (playwright serializes each one, so each stands
// alone). Plain JavaScript checked by ESLint with browser globals; in-page.d.ts gives their types.

/** What script already on the page could try; each attempt is reported as refused or ran. */
export async function tryToRunForeignScript() {
  const violations = [];
  document.addEventListener('securitypolicyviolation', (event) => violations.push(event.violatedDirective));
  const outcomes = [];
  const tryIt = (name, work) => {
    try {
      work();
      outcomes.push(`${name}: ran`);
    } catch (error) {
      outcomes.push(`${name}: refused (${error.name})`);
    }
  };
  tryIt('inline script', () => {
    const script = document.createElement('script');
    script.textContent = 'window.__pwned = 3';
    document.body.appendChild(script);
  });
  tryIt('markup', () => {
    const holder = document.createElement('div');
    holder.innerHTML = '<img src=x onerror="window.__pwned = 4">';
    document.body.appendChild(holder);
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { pwned: window.__pwned ?? null, outcomes, violations };
}

/** POST /v1/approvals/:id with the page's cookie, with or without the page's CSRF token. */
export async function decideFromPage({ approvalId, withCsrf }) {
  const me = await (await fetch('/v1/auth/session')).json();
  const response = await fetch(`/v1/approvals/${approvalId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(withCsrf ? { 'x-airlock-csrf': me.csrfToken } : {}) },
    body: JSON.stringify({ decision: 'approve' }),
  });
  const body = await response.json();
  return {
    status: response.status,
    ...(body.error === undefined ? {} : { code: body.error.code }),
    ...(body.error?.details?.reason === undefined ? {} : { reason: body.error.details.reason }),
  };
}

export async function fetchHeader({ path, header }) {
  return (await fetch(path)).headers.get(header);
}

export async function fetchText(path) {
  return (await fetch(path)).text();
}

/**
 * Starts watching how the page keeps up: long tasks (main-thread work over 50 ms) and the gaps
 * between animation frames. `window.__frames.stop()` returns what was seen.
 */
export function watchResponsiveness() {
  const longTasks = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longTasks.push(entry.duration);
  });
  observer.observe({ type: 'longtask', buffered: false });
  const gaps = [];
  let last = performance.now();
  let running = true;
  const frame = (now) => {
    gaps.push(now - last);
    last = now;
    if (running) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  const started = performance.now();
  window.__frames = {
    stop() {
      running = false;
      observer.disconnect();
      const sorted = [...gaps].sort((a, b) => a - b);
      const at = (fraction) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
      return {
        seconds: (performance.now() - started) / 1000,
        frames: gaps.length,
        p50FrameMs: at(0.5),
        p95FrameMs: at(0.95),
        maxFrameMs: sorted.at(-1) ?? 0,
        longTasks: longTasks.length,
        longTaskMs: longTasks.reduce((sum, value) => sum + value, 0),
        maxLongTaskMs: Math.max(0, ...longTasks),
      };
    },
  };
}

export function stopWatching() {
  return window.__frames.stop();
}

/** axe-core's findings on the page as it is now (axe must have been loaded into the page first). */
export async function runAxe() {
  const result = await window.axe.run(document, {
    runOnly: {
      type: 'tag',
      values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'],
    },
    resultTypes: ['violations'],
  });
  return result.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact ?? 'unknown',
    help: violation.help,
    nodes: violation.nodes.slice(0, 5).map((node) => node.target.join(' ')),
  }));
}

/** Milliseconds since navigation began once the sessions table shows `rows` rows with charts; 0 before. */
export function sessionsShown(rows) {
  const shown = document.querySelectorAll('.sessions-table tbody tr');
  const charted = document.querySelectorAll('.sessions-table tbody tr .sparkline__line');
  return shown.length === rows && charted.length >= rows ? performance.now() : 0;
}

/** The lines the open output view has received, from its counter ("5,000 lines · streaming"). */
export function outputLines() {
  const stats = document.querySelector('.output__stats');
  const match = /^([\d,]+) lines/.exec(stats?.textContent ?? '');
  return match === null ? 0 : Number(match[1].replaceAll(',', ''));
}
