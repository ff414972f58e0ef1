// Palisade console: the little that needs a script. Everything works without it.
// - data-confirm="question" on a submit button asks before the form is sent;
// - data-copy="element-id" on a button copies that element's text (tokens, login links);
// - the live tail on /events: #live-tail-toggle streams data-tail-url (server-sent events).
"use strict";

document.addEventListener("click", function (event) {
  const target = event.target;
  if (!(target instanceof Element)) {
    return;
  }
  const confirmButton = target.closest("[data-confirm]");
  if (confirmButton && !window.confirm(confirmButton.getAttribute("data-confirm"))) {
    event.preventDefault();
    return;
  }
  const copyButton = target.closest("[data-copy]");
  if (copyButton) {
    const source = document.getElementById(copyButton.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        copyButton.textContent = "Copied";
      });
    }
  }
});

// Live tail: newest first, at most LIVE_TAIL_ROWS rows, text only (never HTML from events).
const LIVE_TAIL_ROWS = 200;
(function () {
  const panel = document.getElementById("live-tail");
  const toggle = document.getElementById("live-tail-toggle");
  if (!panel || !toggle || typeof EventSource === "undefined") {
    return;
  }
  const status = document.getElementById("live-tail-status");
  const table = document.getElementById("live-tail-table");
  const rows = document.getElementById("live-tail-rows");
  let source = null;
  let received = 0;

  function say(text) {
    status.textContent = text;
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined || text === "" ? "\u2014" : String(text);
    row.appendChild(td);
  }

  function show(event) {
    const row = document.createElement("tr");
    cell(row, String(event.time || "").replace("T", " ").replace("Z", " UTC"));
    cell(row, event.source);
    cell(row, event.user);
    cell(row, event.action);
    cell(row, event.object);
    cell(row, event.parse_error ? "parse error" : event.outcome);
    cell(row, event.source_ip);
    rows.insertBefore(row, rows.firstChild);
    while (rows.childElementCount > LIVE_TAIL_ROWS) {
      rows.removeChild(rows.lastChild);
    }
    table.hidden = false;
  }

  function stop() {
    if (source) {
      source.close();
      source = null;
    }
    toggle.textContent = "Start live tail";
    say("Stopped after " + received + " events.");
  }

  function start() {
    received = 0;
    source = new EventSource(panel.getAttribute("data-tail-url"));
    toggle.textContent = "Stop live tail";
    say("Waiting for new events\u2026");
    source.onopen = function () {
      say("Live: " + received + " events.");
    };
    source.onmessage = function (message) {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      received += 1;
      show(event);
      say("Live: " + received + " events.");
    };
    source.addEventListener("dropped", function (message) {
      let n = "some";
      try {
        n = JSON.parse(message.data).dropped;
      } catch (e) {
        // keep "some"
      }
      say("Live: " + received + " events; " + n + " skipped because the page fell behind.");
    });
    source.onerror = function () {
      if (source && source.readyState === EventSource.CLOSED) {
        stop();
      } else {
        say("Connection lost; reconnecting\u2026");
      }
    };
  }

  toggle.addEventListener("click", function () {
    if (source) {
      stop();
    } else {
      start();
    }
  });
})();
