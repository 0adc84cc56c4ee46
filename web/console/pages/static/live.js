// The run live view: follows the run's timeline over Server-Sent Events and updates the
// server-rendered page in place, each change rendered by the server (rows, the waiting
// steps, checks, the verdict), and keeps the RTO clock running from T0. Without it, or
// without EventSource, the page reloads itself (the <noscript> refresh).
(function () {
  'use strict';
  var root = document.getElementById('live');
  if (!root || root.getAttribute('data-ended') === 'true' || !('EventSource' in window)) {
    return;
  }
  var tz = root.getAttribute('data-tz');
  var status = document.getElementById('live-status');
  var following = status.innerHTML;
  var stateEl = document.getElementById('run-state');
  var clock = document.getElementById('rto-clock');
  var note = document.getElementById('rto-note');
  var badge = document.getElementById('rto-verdict');
  var card = document.getElementById('rto-card');
  var t0 = parse(clock.getAttribute('data-t0'));
  var t1 = parse(clock.getAttribute('data-t1'));
  var objective = parseInt(clock.getAttribute('data-objective-ms'), 10);
  // How far the server's clock is ahead of this browser's: the clock counts in server time.
  var skew = (parse(clock.getAttribute('data-now')) || Date.now()) - Date.now();

  function parse(s) {
    if (!s) {
      return null;
    }
    var t = Date.parse(s);
    return isNaN(t) ? null : t;
  }

  function pad(n) {
    return (n < 10 ? '0' : '') + n;
  }

  // H:MM:SS while it runs; to the millisecond once stopped at T1, as the server writes it.
  function clockText(ms, stopped) {
    ms = Math.max(0, Math.floor(ms));
    var s = Math.floor(ms / 1000);
    var text = Math.floor(s / 3600) + ':' + pad(Math.floor(s / 60) % 60) + ':' + pad(s % 60);
    if (stopped) {
      text += '.' + ('00' + (ms % 1000)).slice(-3);
    }
    return text;
  }

  // As the server writes it (15:04:05 in the reader's zone), in either language.
  function timeOfDay(ms) {
    try {
      return new Date(ms).toLocaleTimeString('en-GB', { timeZone: tz, hourCycle: 'h23' });
    } catch (e) {
      return new Date(ms).toISOString().slice(11, 19) + ' UTC';
    }
  }

  function tick() {
    if (t0 === null) {
      return;
    }
    var elapsed = (t1 !== null ? t1 : Date.now() + skew) - t0;
    clock.textContent = clockText(elapsed, t1 !== null);
    note.textContent = note.getAttribute(t1 !== null ? 'data-stopped' : 'data-running');
    if (badge && !isNaN(objective)) {
      var over = elapsed > objective;
      badge.hidden = false;
      badge.className = 'badge ' + (over ? 'bad' : 'ok');
      badge.firstElementChild.textContent = over ? '⚠' : '✓';
      badge.querySelector('.text').textContent = badge.getAttribute(over ? 'data-over' : 'data-within');
      card.classList.toggle('over', over);
    }
  }

  function fragment(html) {
    var t = document.createElement('template');
    t.innerHTML = html;
    return t.content;
  }

  function byKey(container, selector, key) {
    var all = container.querySelectorAll(selector);
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute('data-step-key') === key) {
        return all[i];
      }
    }
    return null;
  }

  function applyRun(run) {
    stateEl.textContent = run.state_text;
    stateEl.className = 'state state-' + run.state;
    stateEl.setAttribute('data-state', run.state);
    if (run.t0 && t0 === null) {
      t0 = parse(run.t0);
      document.getElementById('run-t0').textContent = timeOfDay(t0);
    }
    if (run.t1 && t1 === null) {
      t1 = parse(run.t1);
      document.getElementById('run-t1').textContent = timeOfDay(t1);
    }
    var abort = document.getElementById('abort');
    if (!run.abortable && abort) {
      abort.parentNode.removeChild(abort);
    }
    // Once approved (or ended), the run no longer waits for the roles the page named.
    var waiting = document.getElementById('approval-wait');
    if (waiting && run.state !== 'awaiting_approval') {
      waiting.parentNode.removeChild(waiting);
    }
    tick();
  }

  function upsertRow(key, html) {
    var body = document.getElementById('steps-body');
    var row = fragment(html).firstElementChild;
    var old = byKey(body, 'tr[data-step-key]', key);
    if (old) {
      body.replaceChild(row, old);
    } else {
      body.appendChild(row);
    }
    document.getElementById('no-steps').hidden = true;
  }

  function keysOf(container) {
    var keys = [];
    var all = container.querySelectorAll('[data-step-key]');
    for (var i = 0; i < all.length; i++) {
      keys.push(all[i].getAttribute('data-step-key'));
    }
    return keys.join('\n');
  }

  // The waiting steps are replaced only when which steps wait changed, so that a comment
  // being typed is not lost to an unrelated entry.
  function replaceWaiting(html) {
    var waiting = document.getElementById('waiting');
    var next = fragment(html);
    if (keysOf(next) === keysOf(waiting)) {
      return;
    }
    waiting.textContent = '';
    waiting.appendChild(next);
  }

  function addCheck(html) {
    var checks = document.getElementById('checks');
    var li = fragment(html).firstElementChild;
    if (!checks.querySelector('li[data-seq="' + li.getAttribute('data-seq') + '"]')) {
      checks.appendChild(li);
    }
    document.getElementById('no-checks').hidden = true;
  }

  var timer = window.setInterval(tick, 1000);
  tick();
  var source = new EventSource(root.getAttribute('data-events'));

  function stop(text) {
    source.close();
    window.clearInterval(timer);
    tick();
    status.textContent = text;
  }

  source.onopen = function () {
    status.innerHTML = following;
  };
  source.onmessage = function (e) {
    var m = JSON.parse(e.data);
    if (m.row) {
      upsertRow(m.step_key, m.row);
    }
    if (typeof m.waiting === 'string') {
      replaceWaiting(m.waiting);
    }
    if (m.check) {
      addCheck(m.check);
    }
    applyRun(m.run);
  };
  source.addEventListener('end', function (e) {
    var m = JSON.parse(e.data);
    applyRun(m.run);
    replaceWaiting('');
    var verdict = document.getElementById('verdict');
    verdict.textContent = '';
    verdict.appendChild(fragment(m.verdict));
    // The verdict links to the full record: the running run's actions are over.
    ['la-h', 'full-record'].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) {
        el.parentNode.removeChild(el);
      }
    });
    stop(status.getAttribute('data-ended'));
  });
  source.addEventListener('refused', function () {
    stop(status.getAttribute('data-stopped'));
  });
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) {
      stop(status.getAttribute('data-stopped'));
    } else {
      status.textContent = status.getAttribute('data-reconnecting');
    }
  };
})();
