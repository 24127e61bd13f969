/* Sprechstunde chat attachments, beside chat.js (which calls window.SprechstundeAttach).
 *
 * Picking and sending: photos and PDFs chosen for the next message are listed under the text
 * (thumbnail, name, "remove"). On "send" each file goes in chunks to a resumable upload of the
 * documents app (the JSON API documents/upload.js uses: an interrupted file continues where
 * the server stands), then the form is posted with the upload ids and a fresh message id.
 * The server stores the message with its attachments, or nothing (then the files stay here
 * and the reason is shown). Without this script the form posts the files as they are.
 *
 * Watching: an attachment is "being checked" until the documents app has scanned and
 * converted it. While any shown attachment is in that state, its current state is fetched
 * (as the HTML the page itself renders) with a growing pause.
 */
(function () {
  "use strict";

  var section = document.getElementById("chat");
  if (!section || !window.fetch || !window.FormData || !window.Promise) {
    return;
  }
  var chatData = section.dataset;
  var statesUrl = chatData.attachmentStatesUrl;

  // --- watching attachments until they are checked ------------------------------------------

  var POLL_FIRST_MS = 1500;
  var POLL_MOST_MS = 15000;
  var pollDelay = POLL_FIRST_MS;
  var pollTimer = null;
  var polling = false;

  function pendingIds() {
    var found = section.querySelectorAll("[data-attachment-id][data-attachment-state=processing]");
    return Array.prototype.map.call(found, function (item) {
      return item.getAttribute("data-attachment-id");
    });
  }

  function poll() {
    pollTimer = null;
    var ids = pendingIds();
    if (!ids.length || polling) {
      return;
    }
    polling = true;
    var query = ids.map(function (id) { return "id=" + encodeURIComponent(id); }).join("&");
    fetch(statesUrl + "?" + query, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (answer) {
        (answer.attachments || []).forEach(function (state) {
          var shown = section.querySelectorAll('[data-attachment-id="' + Number(state.id) + '"]');
          Array.prototype.forEach.call(shown, function (item) {
            if (item.getAttribute("data-attachment-state") !== state.state) {
              item.outerHTML = state.html;
            }
          });
        });
      })
      .catch(function () { /* asked again after the next pause */ })
      .then(function () {
        polling = false;
        pollDelay = Math.min(POLL_MOST_MS, Math.round(pollDelay * 1.5));
        schedule();
      });
  }

  function schedule() {
    if (pollTimer === null && pendingIds().length) {
      pollTimer = window.setTimeout(poll, pollDelay);
    }
  }

  function watch() {
    // Something new to watch: start again with short pauses.
    pollDelay = POLL_FIRST_MS;
    if (pollTimer !== null) {
      window.clearTimeout(pollTimer);
      pollTimer = null;
    }
    schedule();
  }

  /* The attachments of a message that arrived over the websocket: a placeholder each (name
   * and "being checked"), which the next poll replaces with what the server renders. */
  function renderFrames(item, attachments) {
    if (!attachments || !attachments.length) {
      return;
    }
    var list = document.createElement("ul");
    list.className = "chat__attachments";
    list.setAttribute("aria-label", chatData.textAttachments);
    attachments.forEach(function (attachment) {
      var entry = document.createElement("li");
      entry.className = "chat-attachment chat-attachment--processing";
      entry.setAttribute("data-attachment-id", String(Number(attachment.id)));
      // "processing" makes the poll fetch the real state, whatever the frame said.
      entry.setAttribute("data-attachment-state", "processing");
      var name = document.createElement("span");
      name.className = "chat-attachment__name";
      name.textContent = attachment.title || chatData.textAttachment;
      var state = document.createElement("span");
      state.className = "badge badge--neutral";
      state.textContent = chatData.textChecking;
      entry.appendChild(name);
      entry.appendChild(document.createTextNode(" "));
      entry.appendChild(state);
      list.appendChild(entry);
    });
    var receipt = item.querySelector(".chat__receipt");
    item.insertBefore(list, receipt);
    // chat.js puts the message into the page right after this: watch from then on.
    window.setTimeout(watch, 0);
  }

  // --- picking and sending ------------------------------------------------------------------

  var box = document.getElementById("chat-attach");
  var form = document.getElementById("chat-form");
  var api = { count: function () { return 0; }, renderFrames: renderFrames, watch: watch };
  window.SprechstundeAttach = api;
  watch();
  if (!box || !form) {
    return;
  }
  var data = box.dataset;
  var list = document.getElementById("chat-attach-list");
  var errorBox = document.getElementById("chat-attach-error");
  var statusLine = document.getElementById("chat-attach-status");
  var inputs = Array.prototype.slice.call(box.querySelectorAll("[data-attach-input]"));
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var chunkBytes = Number(data.chunkBytes) || 512 * 1024;
  var maxBytes = Number(data.maxBytes) || Infinity;
  var maxFiles = Number(data.maxFiles) || 5;
  var items = [];
  var nextKey = 1;
  var busy = false;
  var messageId = null; // kept over retries of one send, so the server stores it once
  box.classList.add("chat-attach--enhanced");

  function status(text) {
    statusLine.textContent = text || "";
  }

  function showError(message) {
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
  }

  function render() {
    list.replaceChildren();
    items.forEach(function (item) {
      var entry = document.createElement("li");
      entry.className = "chat-attach__item";
      entry.setAttribute("data-attach-item", String(item.key));
      var thumb = document.createElement(item.url ? "img" : "span");
      thumb.className = "chat-attach__thumb";
      if (item.url) {
        thumb.src = item.url;
        thumb.alt = "";
      } else {
        thumb.textContent = "PDF";
        thumb.setAttribute("aria-hidden", "true");
      }
      var name = document.createElement("span");
      name.className = "chat-attach__name";
      name.textContent = item.file.name;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button button--secondary chat-attach__remove";
      remove.textContent = data.textRemove;
      remove.setAttribute("aria-label", data.textRemove + ": " + item.file.name);
      remove.setAttribute("data-key", String(item.key));
      remove.disabled = busy;
      entry.appendChild(thumb);
      entry.appendChild(name);
      entry.appendChild(remove);
      list.appendChild(entry);
    });
  }

  function dropSession(item) {
    if (item.session) {
      fetch(item.session.url, { method: "DELETE", headers: { "X-CSRFToken": csrf } }).catch(function () {});
      item.session = null;
    }
  }

  function add(files) {
    showError("");
    for (var index = 0; index < files.length; index++) {
      var file = files[index];
      if (items.length >= maxFiles) {
        showError(data.textTooMany);
        break;
      }
      if (file.size > maxBytes) {
        showError(data.textTooLarge);
        continue;
      }
      var isImage = /^image\//.test(file.type);
      items.push({ key: nextKey++, file: file, url: isImage ? URL.createObjectURL(file) : "", session: null });
    }
    messageId = null;
    render();
  }

  inputs.forEach(function (input) {
    input.addEventListener("change", function () {
      add(Array.prototype.slice.call(input.files || []));
      input.value = "";
    });
  });

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-key]");
    if (!button || busy) {
      return;
    }
    var index = items.findIndex(function (item) { return String(item.key) === button.getAttribute("data-key"); });
    if (index < 0) {
      return;
    }
    var removed = items.splice(index, 1)[0];
    if (removed.url) {
      URL.revokeObjectURL(removed.url);
    }
    dropSession(removed);
    messageId = null;
    render();
    var next = list.querySelector("button[data-key]");
    (next || inputs[0]).focus();
  });

  function sleep(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  function failure(message, final) {
    var error = new Error(message || "");
    error.final = final;
    return error;
  }

  async function createSession(item) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", csrf);
    body.append("name", item.file.name);
    body.append("size", String(item.file.size));
    if (data.client) {
      body.append("client", data.client);
    }
    var response = await fetch(data.sessionUrl, { method: "POST", body: body, headers: { Accept: "application/json" } });
    var answer = await response.json().catch(function () { return {}; });
    if (!response.ok) {
      throw failure(answer.error, response.status < 500);
    }
    item.session = answer;
  }

  async function serverOffset(item) {
    var response = await fetch(item.session.url, { headers: { Accept: "application/json" } });
    if (response.status === 404) {
      item.session = null;
      return null;
    }
    if (!response.ok) {
      throw failure("", false);
    }
    return (await response.json()).offset;
  }

  async function sendFile(item) {
    for (var attempt = 0; ; attempt++) {
      try {
        if (!item.session) {
          await createSession(item);
        }
        var offset = await serverOffset(item);
        if (offset === null) {
          continue; // the upload expired or was used up: start it again
        }
        while (offset < item.file.size) {
          var response = await fetch(item.session.url, {
            method: "PUT",
            body: item.file.slice(offset, offset + chunkBytes),
            headers: { "Upload-Offset": String(offset), "X-CSRFToken": csrf, "Content-Type": "application/octet-stream" },
          });
          var answer = await response.json().catch(function () { return {}; });
          if (!response.ok && response.status !== 409) {
            throw failure(answer.error, response.status < 500);
          }
          offset = answer.offset;
        }
        return;
      } catch (error) {
        if (error.final || attempt >= 5) {
          throw error;
        }
        status(data.textRetrying);
        await sleep(Math.min(1000 * Math.pow(2, attempt), 15000));
      }
    }
  }

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  /* Send the text with the chosen files; resolves when the server stored the message, rejects
   * with the reason to show (the files stay chosen, the text stays in the box). */
  async function send(body) {
    if (busy) {
      throw failure("", true);
    }
    busy = true;
    showError("");
    render();
    try {
      status(data.textUploading);
      for (var index = 0; index < items.length; index++) {
        await sendFile(items[index]);
      }
      messageId = messageId || newId();
      var fields = new FormData();
      fields.append("csrfmiddlewaretoken", csrf);
      fields.append("body", body);
      fields.append("client_msg_id", messageId);
      items.forEach(function (item) { fields.append("attachment_ids", item.session.id); });
      var response = await fetch(form.action || window.location.href, {
        method: "POST",
        body: fields,
        headers: { Accept: "application/json" },
      });
      var answer = await response.json().catch(function () { return {}; });
      if (!response.ok) {
        throw failure(answer.error, response.status < 500);
      }
      items.forEach(function (item) {
        if (item.url) {
          URL.revokeObjectURL(item.url);
        }
      });
      items = [];
      messageId = null;
      return answer;
    } catch (error) {
      showError(error.message || data.textFailed);
      throw error;
    } finally {
      busy = false;
      status("");
      render();
    }
  }

  api.count = function () { return items.length; };
  // chat.js replaces this: it clears the text and lets the websocket show the message.
  api.onSent = function () { return false; };

  // Registered before chat.js's handler (this script comes first): with files chosen, the
  // message goes from here, whether or not the websocket is open.
  form.addEventListener("submit", function (event) {
    if (!items.length) {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    var textarea = form.querySelector("textarea");
    send(textarea ? textarea.value : "").then(function (answer) {
      if (!api.onSent(answer)) {
        window.location.assign(window.location.pathname + "?gesendet=" + Number(answer.sequence) + "#neu");
      }
    }, function () { /* the reason is shown; text and files stay for another try */ });
  });
})();
