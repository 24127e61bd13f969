/* Passkeys and security keys (allauth's WebAuthn pages): when the browser refuses or the
   person cancels, say so on the page. allauth itself only writes the error to the console.
   The texts come translated from data attributes on this script's tag. */
(function () {
  'use strict';
  var script = document.currentScript;
  var texts = (script && script.dataset) || {};

  function show(text) {
    var main = document.getElementById('main');
    if (!main || !text) {
      return;
    }
    var box = document.getElementById('passkey-error');
    if (!box) {
      box = document.createElement('p');
      box.id = 'passkey-error';
      box.className = 'message message--error';
      box.setAttribute('role', 'alert');
      box.setAttribute('tabindex', '-1');
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = text;
    box.focus();
  }

  function textFor(error) {
    var name = error && error.name;
    if (!window.PublicKeyCredential) {
      return texts.unsupported;
    }
    if (name === 'NotAllowedError' || name === 'AbortError') {
      return texts.cancelled;
    }
    if (name === 'SecurityError') {
      return texts.insecure;
    }
    if (name === 'InvalidStateError') {
      return texts.known;
    }
    return texts.failed;
  }

  document.addEventListener('allauth.error', function (event) {
    var detail = event.detail || {};
    if (!detail.tags || detail.tags.indexOf('webauthn') === -1) {
      return;
    }
    event.preventDefault();
    show(textFor(detail.exception));
  });
})();
