// Upload page enhancement: photos and files collect into a page list (thumbnails, move
// up/down, remove; all buttons, so keyboard and screen readers work), then each file goes to
// the server in chunks to a resumable upload session. An interrupted upload asks the server
// how much arrived and continues from there; the form is then posted with the session ids
// in page order. Without this script the form posts the chosen files as they are.

const form = document.getElementById("upload-form");

if (form) {
  const data = form.dataset;
  const list = form.querySelector("[data-upload-pages]");
  const inputs = Array.from(form.querySelectorAll("[data-upload-input]"));
  const errorBox = document.getElementById("upload-error");
  const progress = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-progress-bar");
  const progressText = document.getElementById("upload-progress-text");
  const submit = document.getElementById("upload-submit");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const chunkBytes = Number(data.chunkBytes) || 512 * 1024;
  const maxBytes = Number(data.maxBytes) || Infinity;
  const maxFiles = Number(data.maxFiles) || 30;
  let items = [];
  let busy = false;
  let nextKey = 1;

  form.classList.add("upload-enhanced");

  const text = (name) => data[name] || "";
  const pageLabel = (index) => `${text("textPage")} ${index + 1}`;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  function render(focus) {
    list.replaceChildren();
    items.forEach((item, index) => {
      const li = document.createElement("li");
      li.className = "upload-page";
      li.dataset.uploadItem = String(item.key);
      const thumb = document.createElement("img");
      thumb.className = "upload-page__thumb";
      thumb.alt = "";
      if (item.url) thumb.src = item.url;
      const label = document.createElement("span");
      label.className = "upload-page__label";
      label.textContent = `${pageLabel(index)}: ${item.file.name}`;
      const buttons = document.createElement("span");
      buttons.className = "upload-page__buttons";
      const make = (action, caption, disabled) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "button button--secondary";
        button.textContent = caption;
        button.dataset.action = action;
        button.dataset.key = String(item.key);
        button.disabled = disabled || busy;
        button.setAttribute("aria-label", `${caption}: ${pageLabel(index)}`);
        buttons.append(button);
        return button;
      };
      make("up", text("textMoveUp"), index === 0);
      make("down", text("textMoveDown"), index === items.length - 1);
      make("remove", text("textRemove"), false);
      li.append(thumb, label, buttons);
      list.append(li);
    });
    if (focus) {
      const target =
        list.querySelector(`button[data-key="${focus.key}"][data-action="${focus.action}"]:not(:disabled)`) ||
        list.querySelector(`button[data-key="${focus.key}"]:not(:disabled)`) ||
        inputs[0];
      target.focus();
    }
  }

  function add(files) {
    showError("");
    for (const file of files) {
      if (items.length >= maxFiles) {
        showError(text("textTooMany"));
        break;
      }
      const isImage = file.type.startsWith("image/");
      items.push({ key: nextKey++, file, url: isImage ? URL.createObjectURL(file) : "", session: null });
    }
    render();
  }

  inputs.forEach((input) => {
    input.addEventListener("change", () => {
      add(Array.from(input.files || []));
      input.value = "";
    });
  });

  list.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button || busy) return;
    const index = items.findIndex((item) => String(item.key) === button.dataset.key);
    if (index < 0) return;
    const action = button.dataset.action;
    if (action === "up" && index > 0) {
      [items[index - 1], items[index]] = [items[index], items[index - 1]];
    } else if (action === "down" && index < items.length - 1) {
      [items[index + 1], items[index]] = [items[index], items[index + 1]];
    } else if (action === "remove") {
      const [removed] = items.splice(index, 1);
      if (removed.url) URL.revokeObjectURL(removed.url);
      if (removed.session) {
        fetch(removed.session.url, { method: "DELETE", headers: { "X-CSRFToken": csrf } }).catch(() => {});
      }
      const neighbour = items[Math.min(index, items.length - 1)];
      render(neighbour ? { key: neighbour.key, action: "remove" } : null);
      if (!neighbour) inputs[0].focus();
      return;
    }
    render({ key: Number(button.dataset.key), action });
  });

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function createSession(item, position) {
    const body = new FormData();
    body.append("csrfmiddlewaretoken", csrf);
    body.append("name", item.file.name);
    body.append("size", String(item.file.size));
    body.append("batch", data.batch);
    body.append("position", String(position));
    if (data.client) body.append("client", data.client);
    const response = await fetch(data.sessionUrl, { method: "POST", body, headers: { Accept: "application/json" } });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error(answer.error || ""), { final: response.status < 500 });
    item.session = answer;
  }

  async function serverOffset(item) {
    const response = await fetch(item.session.url, { headers: { Accept: "application/json" } });
    if (response.status === 404) {
      item.session = null;
      return null;
    }
    if (!response.ok) throw new Error("");
    return (await response.json()).offset;
  }

  async function sendFile(item, position, report) {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!item.session) await createSession(item, position);
        let offset = await serverOffset(item);
        if (offset === null) continue;
        while (offset < item.file.size) {
          const slice = item.file.slice(offset, offset + chunkBytes);
          const response = await fetch(item.session.url, {
            method: "PUT",
            body: slice,
            headers: { "Upload-Offset": String(offset), "X-CSRFToken": csrf, "Content-Type": "application/octet-stream" },
          });
          const answer = await response.json().catch(() => ({}));
          if (response.status === 409) {
            offset = answer.offset;
          } else if (!response.ok) {
            throw Object.assign(new Error(answer.error || ""), { final: response.status < 500 });
          } else {
            offset = answer.offset;
          }
          report(item, offset);
        }
        return;
      } catch (error) {
        if (error.final || attempt >= 5) throw error;
        progressText.textContent = text("textRetrying");
        await sleep(Math.min(1000 * 2 ** attempt, 15000));
      }
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    showError("");
    if (!items.length) {
      showError(text("textEmpty"));
      inputs[0].focus();
      return;
    }
    const total = items.reduce((sum, item) => sum + item.file.size, 0);
    if (total > maxBytes) {
      showError(text("textTooLarge"));
      return;
    }
    busy = true;
    submit.disabled = true;
    render();
    progress.hidden = false;
    const sent = new Map();
    const report = (item, offset) => {
      sent.set(item.key, offset);
      const done = Array.from(sent.values()).reduce((a, b) => a + b, 0);
      const percent = total ? Math.floor((done / total) * 100) : 100;
      bar.value = percent;
      progressText.textContent = `${text("textSending")} ${percent} %`;
    };
    try {
      for (const [index, item] of items.entries()) {
        await sendFile(item, index, report);
      }
      progressText.textContent = text("textProcessing");
      const body = new FormData(form);
      body.delete("files");
      items.forEach((item) => body.append("upload_ids", item.session.id));
      const response = await fetch(form.action || window.location.href, {
        method: "POST",
        body,
        headers: { Accept: "application/json" },
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok && answer.url) {
        window.location.assign(answer.url);
        return;
      }
      // The server dropped these sessions (accepted or refused): start afresh next time.
      items.forEach((item) => (item.session = null));
      throw Object.assign(new Error(answer.error || ""), { final: true });
    } catch (error) {
      progress.hidden = true;
      showError(error.message || text("textFailed"));
    } finally {
      busy = false;
      submit.disabled = false;
      render();
    }
  });
}
