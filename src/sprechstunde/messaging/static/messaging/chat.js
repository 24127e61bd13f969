/* Sprechstunde chat: live messages over a websocket, on top of a page that works without it.
 *
 * Without JavaScript (or before the websocket ever opened) the form posts as usual. Once the
 * socket is open, a message goes into an outbox (kept in sessionStorage for this tab) and is
 * sent one at a time until the server acknowledges it; after a reconnect the head of the
 * outbox is sent again (the server ignores a repeat of the same id) and everything missed is
 * fetched with "sync". Messages are shown strictly in the server's order: one that arrives
 * ahead of a gap waits until the gap is filled.
 */
(function () {
  "use strict";

  var section = document.getElementById("chat");
  if (!section || !("WebSocket" in window) || !window.JSON) {
    return;
  }
  var data = section.dataset;
  var lastSequence = parseInt(data.lastSequence, 10);
  if (isNaN(lastSequence) || lastSequence < 0) {
    return; // an older page of the conversation: no live updates there
  }
  var list = document.getElementById("chat-list");
  var emptyNote = document.getElementById("chat-empty");
  var statusLine = document.getElementById("chat-status");
  var form = document.getElementById("chat-form");
  var textarea = form ? form.querySelector("textarea") : null;
  var side = data.side;
  var otherSide = side === "client" ? "staff" : "client";
  var readBy = { client: toInt(data.readClient), staff: toInt(data.readStaff) };
  var storageKey = "sprechstunde.chat.outbox." + data.wsPath;
  var language = document.documentElement.lang || undefined;
  var attach = window.SprechstundeAttach || null; // attach.js: photos and PDFs in a message

  var socket = null;
  var everOpen = false;
  var stopped = false;
  var failures = 0;
  var syncing = false;
  var inFlight = null; // the client_msg_id sent and not yet acknowledged on this socket
  // The page itself marked everything shown as read; after that, only messages from the
  // other side need reporting (read receipts are about those).
  var unreadShown = false;
  var waiting = {}; // sequence -> frame that arrived ahead of a gap
  var pendingItems = {}; // client_msg_id -> <li> of a message not yet confirmed
  var outbox = loadOutbox();
  var retryTimer = null;
  var heartbeat = null;
  var lastHeard = 0;
  // A phone that changes networks can keep a dead socket "open" for minutes: ask the server
  // every 25 s and give up on the socket when nothing at all came back for 35 s.
  var PING_EVERY_MS = 25000;
  var SILENCE_LIMIT_MS = 35000;
  var announcer = document.createElement("p");
  announcer.className = "visually-hidden";
  announcer.setAttribute("aria-live", "polite");
  section.appendChild(announcer);

  function toInt(value) {
    var number = parseInt(value, 10);
    return isNaN(number) ? 0 : number;
  }

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // --- the outbox: what this tab has written and the server has not confirmed --------------

  function loadOutbox() {
    try {
      var stored = JSON.parse(window.sessionStorage.getItem(storageKey) || "[]");
      return Array.isArray(stored) ? stored : [];
    } catch (error) {
      return [];
    }
  }

  function saveOutbox() {
    try {
      if (outbox.length) {
        window.sessionStorage.setItem(storageKey, JSON.stringify(outbox));
      } else {
        window.sessionStorage.removeItem(storageKey);
      }
    } catch (error) {
      /* storage full or blocked: the outbox still lives in memory */
    }
  }

  function dropFromOutbox(id) {
    outbox = outbox.filter(function (item) { return item.id !== id; });
    if (inFlight === id) {
      inFlight = null;
    }
    saveOutbox();
  }

  function sendNext() {
    if (!socket || socket.readyState !== WebSocket.OPEN || inFlight || !outbox.length) {
      return;
    }
    var head = outbox[0];
    inFlight = head.id;
    socket.send(JSON.stringify({ type: "send", client_msg_id: head.id, body: head.body }));
  }

  // --- showing messages ----------------------------------------------------------------------

  function formatTime(iso) {
    var date = new Date(iso);
    try {
      return date.toLocaleString(language, { dateStyle: "short", timeStyle: "short" });
    } catch (error) {
      return date.toLocaleString();
    }
  }

  function setReceipt(item, text) {
    var receipt = item.querySelector(".chat__receipt");
    if (!receipt) {
      receipt = document.createElement("p");
      receipt.className = "chat__receipt";
      item.appendChild(receipt);
    }
    receipt.textContent = text;
  }

  function buildItem(sender, body, isOurs) {
    var item = document.createElement("li");
    item.className = "chat__message" + (isOurs ? " chat__message--ours" : "");
    var meta = document.createElement("p");
    meta.className = "chat__meta";
    var who = document.createElement("span");
    who.className = "chat__sender";
    who.textContent = sender;
    meta.appendChild(who);
    item.appendChild(meta);
    if (body) {
      var text = document.createElement("p");
      text.className = "chat__body";
      text.textContent = body;
      item.appendChild(text);
    }
    return item;
  }

  function firstPending() {
    return list.querySelector(".chat__message--pending");
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 160;
  }

  function show(frame) {
    var stick = nearBottom();
    var isOurs = frame.side === side;
    var item = buildItem(frame.own ? data.textYou : frame.sender_name, frame.body, isOurs);
    item.id = "nachricht-" + frame.sequence;
    item.setAttribute("data-sequence", frame.sequence);
    item.setAttribute("data-client-msg-id", frame.client_msg_id);
    item.setAttribute("data-side", frame.side);
    var time = document.createElement("time");
    time.setAttribute("datetime", frame.created_at);
    time.textContent = formatTime(frame.created_at);
    var meta = item.querySelector(".chat__meta");
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(time);
    if (isOurs) {
      setReceipt(item, readBy[otherSide] >= frame.sequence ? data.textRead : data.textSent);
    }
    if (attach) {
      attach.renderFrames(item, frame.attachments);
    }
    var pending = pendingItems[frame.client_msg_id];
    if (pending) {
      pending.parentNode.removeChild(pending);
      delete pendingItems[frame.client_msg_id];
    }
    // Confirmed messages stay above those still waiting for the server.
    list.insertBefore(item, firstPending());
    if (emptyNote) {
      emptyNote.classList.add("chat__empty--hidden");
    }
    if (!isOurs) {
      unreadShown = true;
      announcer.textContent = data.textNew + ": " + frame.sender_name + ": " + frame.body.slice(0, 200);
    }
    if (stick) {
      item.scrollIntoView({ block: "end" });
    }
  }

  function accept(frame) {
    var sequence = frame.sequence;
    if (sequence <= lastSequence) {
      return; // already shown (a repeat after a reconnect or a sync)
    }
    if (sequence > lastSequence + 1) {
      waiting[sequence] = frame; // something is missing before it: fetch the gap
      requestSync();
      return;
    }
    show(frame);
    lastSequence = sequence;
    while (waiting[lastSequence + 1]) {
      var next = waiting[lastSequence + 1];
      delete waiting[lastSequence + 1];
      show(next);
      lastSequence = next.sequence;
    }
  }

  function addPending(id, body) {
    var item = buildItem(data.textYou, body, true);
    item.classList.add("chat__message--pending");
    item.setAttribute("data-client-msg-id", id);
    setReceipt(item, socket && socket.readyState === WebSocket.OPEN ? data.textSending : data.textWaiting);
    list.appendChild(item);
    pendingItems[id] = item;
    if (emptyNote) {
      emptyNote.classList.add("chat__empty--hidden");
    }
    item.scrollIntoView({ block: "end" });
  }

  function updateReceipts() {
    var items = list.querySelectorAll(".chat__message--ours[data-sequence]");
    Array.prototype.forEach.call(items, function (item) {
      var sequence = toInt(item.getAttribute("data-sequence"));
      setReceipt(item, readBy[otherSide] >= sequence ? data.textRead : data.textSent);
    });
  }

  function setStatus(text) {
    statusLine.textContent = text;
  }

  // --- talking to the server -----------------------------------------------------------------

  function requestSync() {
    if (syncing || !socket || socket.readyState !== WebSocket.OPEN) {
      return;
    }
    syncing = true;
    socket.send(JSON.stringify({ type: "sync", after: lastSequence }));
  }

  function reportRead() {
    if (!socket || socket.readyState !== WebSocket.OPEN || document.visibilityState !== "visible") {
      return;
    }
    if (unreadShown) {
      unreadShown = false;
      socket.send(JSON.stringify({ type: "read", sequence: lastSequence }));
    }
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "welcome":
        readBy.client = Math.max(readBy.client, toInt(frame.read && frame.read.client));
        readBy.staff = Math.max(readBy.staff, toInt(frame.read && frame.read.staff));
        updateReceipts();
        syncing = false;
        requestSync();
        sendNext();
        break;
      case "messages":
        frame.messages.forEach(accept);
        syncing = false;
        if (frame.has_more) {
          requestSync();
        }
        reportRead();
        break;
      case "message":
        accept(frame);
        reportRead();
        break;
      case "ack":
        dropFromOutbox(frame.client_msg_id);
        if (frame.sequence <= lastSequence && pendingItems[frame.client_msg_id]) {
          var shown = pendingItems[frame.client_msg_id];
          shown.parentNode.removeChild(shown);
          delete pendingItems[frame.client_msg_id];
        } else if (pendingItems[frame.client_msg_id]) {
          setReceipt(pendingItems[frame.client_msg_id], data.textSent);
          // The push of our own message normally follows at once; if it got lost, fetch it.
          window.setTimeout(function () {
            if (lastSequence < frame.sequence) {
              requestSync();
            }
          }, 1500);
        }
        sendNext();
        break;
      case "read":
        if (frame.side === otherSide && frame.sequence > readBy[otherSide]) {
          readBy[otherSide] = frame.sequence;
          updateReceipts();
        }
        break;
      case "error":
        onError(frame);
        break;
      case "pong":
        // A push may have been lost (e.g. dropped by an overloaded layer): catch up.
        if (typeof frame.last_sequence === "number" && frame.last_sequence > lastSequence) {
          requestSync();
        }
        break;
      default:
        break;
    }
  }

  function onError(frame) {
    var id = frame.client_msg_id;
    var later = Math.max(500, (frame.retry_after || 1) * 1000);
    if (frame.code === "rate_limited") {
      if (id) {
        inFlight = null;
        window.setTimeout(sendNext, later);
      } else if (syncing) {
        syncing = false;
        window.setTimeout(requestSync, later);
      }
      return;
    }
    if (id && pendingItems[id]) {
      // Refused for good (too long, no longer allowed): keep the text visible, do not retry.
      var item = pendingItems[id];
      item.classList.remove("chat__message--pending");
      item.classList.add("chat__message--failed");
      setReceipt(item, data.textFailed + " " + (frame.message || ""));
      delete pendingItems[id];
      dropFromOutbox(id);
      sendNext();
    }
  }

  function checkPulse() {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return;
    }
    if (Date.now() - lastHeard > SILENCE_LIMIT_MS) {
      socket.close();
      return;
    }
    socket.send(JSON.stringify({ type: "ping" }));
  }

  function dropSocket() {
    // Closing hands over to onclose, which schedules the reconnect.
    if (socket && socket.readyState <= WebSocket.OPEN) {
      socket.close();
    }
  }

  function connect() {
    if (stopped) {
      return;
    }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + data.wsPath);
    socket.onopen = function () {
      lastHeard = Date.now();
      window.clearInterval(heartbeat);
      heartbeat = window.setInterval(checkPulse, PING_EVERY_MS);
      everOpen = true;
      failures = 0;
      inFlight = null;
      setStatus(data.textOnline);
      Object.keys(pendingItems).forEach(function (id) {
        setReceipt(pendingItems[id], data.textSending);
      });
    };
    socket.onmessage = function (event) {
      lastHeard = Date.now();
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (frame && typeof frame.type === "string") {
        onFrame(frame);
      }
    };
    socket.onclose = function (event) {
      window.clearInterval(heartbeat);
      socket = null;
      inFlight = null;
      syncing = false;
      if (event.code === 4403 || event.code === 4401) {
        stopped = true;
        setStatus(data.textEnded);
        if (textarea) {
          textarea.disabled = true;
        }
        return;
      }
      failures += 1;
      if (everOpen) {
        setStatus(data.textOffline);
        Object.keys(pendingItems).forEach(function (id) {
          setReceipt(pendingItems[id], data.textWaiting);
        });
      }
      // Back off: 1, 2, 4 … at most 30 seconds, with jitter so that phones do not return in step.
      var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(failures - 1, 5)));
      window.clearTimeout(retryTimer);
      retryTimer = window.setTimeout(connect, delay * (0.5 + Math.random() / 2));
    };
  }

  // --- the form --------------------------------------------------------------------------

  if (form && textarea) {
    form.addEventListener("submit", function (event) {
      if (!everOpen) {
        return; // the websocket never worked here: the ordinary form post sends it
      }
      event.preventDefault();
      var body = textarea.value;
      if (!body.trim()) {
        textarea.focus();
        return;
      }
      var id = newId();
      outbox.push({ id: id, body: body });
      saveOutbox();
      addPending(id, body);
      textarea.value = "";
      textarea.focus();
      sendNext();
    });
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (typeof form.requestSubmit === "function") {
          form.requestSubmit();
        }
      }
    });
  }

  if (attach) {
    // A message with files went through attach.js (as a form post): clear the text, and let
    // the push show it (or fetch it, should the push be lost).
    attach.onSent = function (answer) {
      if (textarea) {
        textarea.value = "";
      }
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        return false; // attach.js shows the page again
      }
      if (answer && answer.sequence > lastSequence) {
        requestSync();
      }
      return true;
    };
  }

  // Messages this tab wrote before a reload and the server never confirmed: show them again
  // as waiting, unless the page already lists them (stored, only the confirmation was lost).
  outbox = outbox.filter(function (item) {
    var id = window.CSS && CSS.escape ? CSS.escape(String(item.id)) : String(item.id);
    return item && typeof item.body === "string" &&
      !list.querySelector('[data-client-msg-id="' + id + '"]');
  });
  saveOutbox();
  outbox.forEach(function (item) {
    addPending(item.id, item.body);
  });

  document.addEventListener("visibilitychange", reportRead);
  window.addEventListener("offline", dropSocket);
  window.addEventListener("online", function () {
    if (!socket && !stopped) {
      window.clearTimeout(retryTimer);
      connect();
    }
  });
  var lastItem = list.lastElementChild;
  if (lastItem && window.location.hash !== "#neu") {
    lastItem.scrollIntoView({ block: "end" });
  }
  connect();
})();
