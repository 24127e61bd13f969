"""What every page must pass: axe-core, no third-party requests, no CSP errors, touch targets,
keyboard focus. Each check returns a list of human-readable problems (empty means pass).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import (
        BrowserContext,
        ConsoleMessage,
        Page,
        Request,
        Response,
        WebSocket,
    )

    from .live_server import LiveApp

MIN_TARGET_PX = 44

# --- Network, console and CSP ----------------------------------------------------------------

# Runs before any page script (injected by the DevTools protocol, so the CSP does not apply to it):
# collects `securitypolicyviolation` events, which also catch violations that log nothing.
CSP_LISTENER_SCRIPT = """
(() => {
  if (window.__sprechstundeCsp) { return; }
  window.__sprechstundeCsp = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__sprechstundeCsp.push({
      directive: event.effectiveDirective || event.violatedDirective,
      blocked: event.blockedURI,
      source: event.sourceFile,
      line: event.lineNumber,
      sample: event.sample,
    });
  });
})();
"""

_CSP_MARKERS = ("content security policy", "content-security-policy")
_OFFLINE_ERROR = "net::ERR_INTERNET_DISCONNECTED"


@dataclass
class PageMonitor:
    """Records what the pages of one browser context do on the network and in the console."""

    live_app: LiveApp
    requests: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    csp_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_resources: list[str] = field(default_factory=list)
    # Set once a test has taken this context offline (see `set_offline`).
    was_offline: bool = False

    def attach(self, context: BrowserContext) -> None:
        context.add_init_script(script=CSP_LISTENER_SCRIPT)
        # Requests to other hosts are recorded here; the browser itself sends them to a dead
        # proxy (see chromium.blocking_proxy), so a test never reaches a third party.
        context.on("request", self._on_request)
        context.on("response", self._on_response)
        context.on("requestfailed", self._on_request_failed)
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.page_errors.append(str(error.error)))
        context.on("page", lambda page: page.on("websocket", self._on_websocket))
        _MONITORS[context] = self

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)
        if not self.live_app.is_own(request.url):
            frame_url = _safe_frame_url(request)
            self.foreign_requests.append(
                f"{request.method} {request.url} ({request.resource_type}, from {frame_url})"
            )

    def _on_websocket(self, websocket: WebSocket) -> None:
        self.requests.append(websocket.url)
        if not self.live_app.is_own(websocket.url):
            self.foreign_requests.append(f"WEBSOCKET {websocket.url}")

    def _on_response(self, response: Response) -> None:
        request = response.request
        # The page itself may answer 404 on purpose (access denied); its resources may not.
        if response.status >= 400 and request.resource_type != "document":
            self.failed_resources.append(f"{response.status} {request.url}")

    def _on_request_failed(self, request: Request) -> None:
        # Third-party requests fail by design (blocked), and are reported as such already;
        # ERR_ABORTED is a request cut short by the next navigation.
        failure = request.failure or ""
        if self.live_app.is_own(request.url) and "ERR_ABORTED" not in failure:
            self.failed_resources.append(f"{failure} {request.url}")

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        text = message.text
        if any(marker in text.lower() for marker in _CSP_MARKERS):
            self.csp_errors.append(text)
        elif "failed to load resource" in text.lower():
            return
        elif _OFFLINE_ERROR in text and self.was_offline:
            # The test took the context offline (`set_offline`): the page's reconnect attempts
            # fail by design. Chromium reports exactly this error for them, and only then.
            return
        else:
            self.console_errors.append(text)

    def collect_csp_events(self, page: Page) -> None:
        """Moves the page's securitypolicyviolation events into csp_errors."""
        try:
            events = page.evaluate(
                "() => { const e = window.__sprechstundeCsp || []; "
                "window.__sprechstundeCsp = []; return e; }"
            )
        except Exception as error:  # a page that is navigating away has no JS context
            events = []
            self.page_errors.append(f"could not read CSP events: {error}")
        for event in events:
            text = (
                f"CSP blocked {event.get('blocked') or 'inline code'} "
                f"(directive {event.get('directive')}, {event.get('source')}:{event.get('line')}"
                f"{', sample ' + repr(event['sample']) if event.get('sample') else ''})"
            )
            self.csp_errors.append(text)

    def problems(self) -> list[str]:
        """Everything recorded so far that must fail a test."""
        found = [f"request to a third party: {item}" for item in self.foreign_requests]
        found += [f"CSP violation: {item}" for item in _unique(self.csp_errors)]
        found += [f"JavaScript error: {item}" for item in _unique(self.page_errors)]
        found += [f"console error: {item}" for item in _unique(self.console_errors)]
        found += [f"resource failed: {item}" for item in _unique(self.failed_resources)]
        return found

    def reset(self) -> None:
        for name in (
            "requests",
            "foreign_requests",
            "csp_errors",
            "page_errors",
            "console_errors",
            "failed_resources",
        ):
            getattr(self, name).clear()


_MONITORS: weakref.WeakKeyDictionary[Any, PageMonitor] = weakref.WeakKeyDictionary()


def monitor_of(page: Page) -> PageMonitor:
    """The monitor that watches this page's browser context."""
    return _MONITORS[page.context]


def set_offline(context: BrowserContext, offline: bool) -> None:
    """Takes a watched context off the network (or back), telling its monitor first."""
    if offline:
        _MONITORS[context].was_offline = True
    context.set_offline(offline)


def _safe_frame_url(request: Request) -> str:
    try:
        return request.frame.url
    except Exception:  # service worker requests have no frame
        return "?"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --- axe-core ----------------------------------------------------------------------------------


def _axe_source() -> str:
    # axe-playwright-python ships axe-core's axe.min.js (MPL-2.0); we only read the file.
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text("utf-8")


_AXE_SOURCE: str | None = None

# Injected through page.evaluate (the DevTools protocol), not a <script> tag: our CSP allows
# no inline scripts, and the test must not weaken it.
_AXE_RUN = """
async (options) => {
  const results = await axe.run(document, options);
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({
      target: n.target.join(' '),
      html: n.html.slice(0, 200),
      summary: (n.failureSummary || '').slice(0, 400),
    })),
  }));
}
"""

AXE_OPTIONS: dict[str, Any] = {
    # Every rule axe runs by default (WCAG 2.0/2.1/2.2 A and AA plus best practices).
    "resultTypes": ["violations"],
}


def axe_violations(page: Page, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Runs axe-core on the current page and returns its violations."""
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        _AXE_SOURCE = _axe_source()
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_AXE_SOURCE)
    return page.evaluate(_AXE_RUN, options or AXE_OPTIONS)


def format_axe(violations: list[dict[str, Any]]) -> list[str]:
    lines = []
    for violation in violations:
        nodes = "; ".join(f"{node['target']} {node['html']!r}" for node in violation["nodes"][:5])
        more = len(violation["nodes"]) - 5
        suffix = f" (+{more} more)" if more > 0 else ""
        lines.append(
            f"axe {violation['id']} [{violation['impact']}]: {violation['help']} -> {nodes}{suffix}"
        )
    return lines


# --- Touch targets -----------------------------------------------------------------------------

# The rule (client pages): every visible a[href], button, input, select, textarea, summary and
# [role=button] is at least 44 x 44 CSS px. A checkbox or radio button counts by its <label> (the
# label is the touch target; the box inside may be smaller). Excluded, as WCAG 2.5.8 allows:
# links inside running text, i.e. an <a> displayed inline whose block container also holds
# text of its own (a sentence with a link in it). Elements out of view (the skip link before
# it gets focus) and visually hidden ones are not targets.
_TOUCH_TARGETS_JS = """
(minimum) => {
  const blockOf = (el) => {
    let node = el.parentElement;
    while (node && getComputedStyle(node).display.startsWith('inline')) {
      node = node.parentElement;
    }
    return node;
  };
  const isInlineTextLink = (el) => {
    if (el.tagName !== 'A' || !getComputedStyle(el).display.startsWith('inline')) { return false; }
    const block = blockOf(el);
    if (!block) { return false; }
    const own = (block.innerText || '').replace(el.innerText || '', '').trim();
    return own.length > 0;
  };
  const visible = (el) => {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') { return false; }
    const rect = el.getBoundingClientRect();
    if (rect.width <= 1 || rect.height <= 1) { return false; }
    const x = rect.left + window.scrollX, y = rect.top + window.scrollY;
    return x + rect.width > 0 && y + rect.height > 0;
  };
  const describe = (el) => {
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '')
        .trim();
    let id = el.tagName.toLowerCase();
    if (el.id) { id += '#' + el.id; }
    if (el.type && el.tagName === 'INPUT') { id += '[type=' + el.type + ']'; }
    return id + (text ? ' "' + text.slice(0, 40) + '"' : '');
  };
  const problems = [];
  const seen = new Set();
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
      + '[role=button]';
  for (let el of document.querySelectorAll(selector)) {
    if (el.closest('[hidden], [aria-hidden=true]')) { continue; }
    if (el.tagName === 'INPUT' && (el.type === 'checkbox' || el.type === 'radio')) {
      const label = el.closest('label')
          || (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]'));
      if (label) { el = label; }
    }
    if (seen.has(el) || !visible(el) || isInlineTextLink(el)) { continue; }
    seen.add(el);
    const rect = el.getBoundingClientRect();
    if (rect.width + 0.5 < minimum || rect.height + 0.5 < minimum) {
      problems.push(
          describe(el) + ' is ' + Math.round(rect.width) + ' x ' + Math.round(rect.height) + ' px');
    }
  }
  return problems;
}
"""


def small_touch_targets(page: Page, minimum: int = MIN_TARGET_PX) -> list[str]:
    """Interactive elements smaller than minimum x minimum CSS px (see the rule above)."""
    found = page.evaluate(_TOUCH_TARGETS_JS, minimum)
    return [f"touch target below {minimum} x {minimum} px: {item}" for item in found]


# --- Keyboard ----------------------------------------------------------------------------------

# Marks the page's main action with data-focus-goal: an element marked data-main-action, else
# the first submit button in <main>, else the first focusable element in <main> (none when <main>
# has nothing to act on). Returns its HTML and how many Tab presses should reach it in document
# order. Then records every focus change (focusin), with whether the element shows a focus ring.
_WALK_SETUP_JS = """
() => {
  const tabbable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
      + '[tabindex]:not([tabindex="-1"])';
  const shown = (el) => el.getClientRects().length > 0
      && getComputedStyle(el).visibility !== 'hidden' && !el.disabled;
  const main = document.querySelector('main');
  let goal = null;
  if (main) {
    const pick = (selector) => [...main.querySelectorAll(selector)].find(shown) || null;
    goal = pick('[data-main-action]')
        || pick('button[type=submit], button:not([type]), input[type=submit]')
        || pick(tabbable);
  }
  document.querySelectorAll('[data-focus-goal]')
      .forEach((el) => el.removeAttribute('data-focus-goal'));
  if (goal) { goal.setAttribute('data-focus-goal', '1'); }
  const order = [...document.querySelectorAll(tabbable)].filter(shown);
  window.__focusLog = [];
  if (!window.__focusLogInstalled) {
    window.__focusLogInstalled = true;
    document.addEventListener('focusin', (event) => {
      const el = event.target;
      const style = getComputedStyle(el);
      const rect = el.getBoundingClientRect();
      const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1
          && style.outlineColor !== 'transparent' && !/, 0\\)$/.test(style.outlineColor);
      const shadow = !!style.boxShadow && style.boxShadow !== 'none';
      const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '')
          .trim();
      window.__focusLog.push({
        key: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
            + (text ? ' "' + text.slice(0, 30) + '"' : ''),
        ring: outline || shadow,
        onScreen: rect.width > 0 && rect.height > 0 && rect.right > 0 && rect.bottom > 0,
        goal: el.hasAttribute('data-focus-goal'),
        // In Chromium, Tab also walks the parts of a date or time field (day, month, year,
        // AM/PM depending on the locale) and its picker button.
        segments: el.tagName === 'INPUT' ? ({date: 4, time: 4, 'datetime-local': 7, month: 3,
            week: 3})[el.type] || 1 : 1,
      });
    }, true);
  }
  if (document.activeElement && document.activeElement !== document.body) {
    document.activeElement.blur();
  }
  window.scrollTo(0, 0);
  return {goal: goal ? goal.outerHTML.slice(0, 120) : null,
          presses: goal ? order.indexOf(goal) + 1 : 2};
}
"""


@dataclass
class KeyboardWalk:
    goal: str | None
    steps: list[str]
    problems: list[str]


# 60: the staff menu grew (today page, papers); a form of three date-and-time slots alone takes
# about 30 presses (Chromium walks each part of a date or time field).
def keyboard_walk(page: Page, max_tabs: int = 60) -> KeyboardWalk:
    """Presses Tab from the top of the page until focus reaches the main action.

    Fails when a Tab press does not move focus (beyond the parts of a date or time field),
    when a focused element shows no focus ring
    (an outline or a box-shadow) or is off screen, or when the main action is not reached in
    max_tabs presses. Pages without anything to act on in <main> need two focus moves.
    """
    setup = page.evaluate(_WALK_SETUP_JS)
    goal = setup["goal"]
    needed = max(1, setup["presses"]) if goal else 2
    problems: list[str] = []
    steps: list[str] = []
    pressed = 0
    extra_presses = 0  # Tab presses that stay inside a date or time field
    reached = False
    batch = min(needed, max_tabs)
    while not reached and pressed < max_tabs and not problems:
        for _ in range(batch):
            page.keyboard.press("Tab")
        pressed += batch
        log = page.evaluate("() => window.__focusLog")
        for state in log[len(steps) :]:
            steps.append(state["key"])
            extra_presses += state["segments"] - 1
            if not state["ring"]:
                problems.append(f"no visible focus ring on {state['key']}")
            if not state["onScreen"]:
                problems.append(f"focused element is off screen: {state['key']}")
            if state["goal"] or (goal is None and len(steps) >= 2):
                reached = True
                break
        if not reached and len(log) + extra_presses < pressed:
            where = f"after {steps[-1]}" if steps else "from the top of the page"
            problems.append(f"Tab did not move focus {where}")
        batch = min(5, max_tabs - pressed)
    if not reached and not problems:
        problems.append(f"Tab did not reach {goal or 'a second element'} in {max_tabs} presses")
    return KeyboardWalk(goal=goal, steps=steps, problems=_unique(problems))


# --- All of them --------------------------------------------------------------------------------


def page_problems(page: Page, *, touch_targets: bool) -> list[str]:
    """Every check on the page that is open now (axe, keyboard, CSP, network, and touch
    targets on client-facing pages); resets the page's monitor. Empty means it passes."""
    monitor = monitor_of(page)
    problems = format_axe(axe_violations(page))
    if touch_targets:
        problems += small_touch_targets(page)
    problems += keyboard_walk(page).problems
    monitor.collect_csp_events(page)
    problems += monitor.problems()
    monitor.reset()
    return problems
