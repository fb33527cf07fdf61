// Copy buttons: a button with data-copy="ID" copies the text of the element ID, then says so
// in the status next to it (no inline script: the dashboard's Content-Security-Policy forbids it).
"use strict";

document.querySelectorAll("button[data-copy]").forEach((button) => {
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.getAttribute("aria-describedby"));
    if (!source) {
      return;
    }
    const text = source.textContent.trim();
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Without the clipboard (plain http, old browser): select the text for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      return;
    }
    if (status) {
      status.textContent = button.dataset.copied;
    }
  });
});
