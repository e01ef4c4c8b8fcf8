/* Berth: toasts, copy-to-clipboard (with a fallback for plain-HTTP pages), the shared modal,
   bulk selection. Plain browser JavaScript; htmx and Bootstrap are loaded before this file. */
(function () {
  "use strict";

  // --- toasts -----------------------------------------------------------------------------
  function showToastElement(element) {
    window.bootstrap.Toast.getOrCreateInstance(element, { delay: 6000 }).show();
    element.addEventListener("hidden.bs.toast", function () { element.remove(); });
  }

  function toast(level, message, code) {
    var template = document.getElementById("toast-template");
    var container = document.getElementById("toasts");
    if (!template || !container) return;
    var element = template.content.firstElementChild.cloneNode(true);
    var tone = level === "error" ? "danger" : (level || "info");
    element.className = element.className.replace(/text-bg-\S+/, "text-bg-" + tone);
    element.querySelector("[data-toast-message]").textContent = message || "";
    element.querySelector("[data-toast-code]").textContent = code || "";
    element.dataset.level = tone;
    container.appendChild(element);
    showToastElement(element);
  }
  window.berthToast = toast;

  // Toasts sent by the server in HX-Trigger: {"berth:toast": {"value": [{level, message, code}]}}
  document.addEventListener("berth:toast", function (event) {
    var detail = event.detail || {};
    var items = Array.isArray(detail.value) ? detail.value : [detail];
    items.forEach(function (item) { toast(item.level, item.message, item.code); });
  });

  // --- htmx error handling ------------------------------------------------------------------
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!event.detail.isError) return;
    // Berth's own error answers say where they go (HX-Retarget) or that nothing moves
    // (HX-Reswap: none, with a toast). Anything else (a proxy's or a crash page) is not swapped.
    if (!xhr.getResponseHeader("HX-Retarget") && !xhr.getResponseHeader("HX-Reswap")) {
      event.detail.shouldSwap = false;
      toast("danger", "The server could not complete this (HTTP " + xhr.status + ").", "");
    }
  });
  document.addEventListener("htmx:sendError", function () {
    toast("danger", "Berth cannot be reached. Check your connection and try again.", "");
  });

  // Filter forms marked data-drop-empty leave blank fields out of the URL (and the history).
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!event.detail.useUrlParams || !elt || !elt.closest("[data-drop-empty]")) return;
    var data = event.detail.formData;
    Array.from(data.keys()).forEach(function (key) {
      if (data.getAll(key).every(function (value) { return value === ""; })) data.delete(key);
    });
  });

  // --- the shared modal -------------------------------------------------------------------
  function modal() {
    var element = document.getElementById("berth-modal");
    return element ? window.bootstrap.Modal.getOrCreateInstance(element) : null;
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "berth-modal-content") {
      var m = modal();
      if (m) m.show();
    }
  });
  // A successful POST from inside the modal is done with the modal.
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    var verb = (event.detail.requestConfig && event.detail.requestConfig.verb) || "";
    if (event.detail.successful && verb.toLowerCase() === "post" && elt && elt.closest("#berth-modal")) {
      var m = modal();
      if (m) m.hide();
    }
  });

  // --- copy to clipboard ------------------------------------------------------------------
  // navigator.clipboard exists only in secure contexts (HTTPS or localhost); an intranet
  // dashboard on plain HTTP gets a hidden textarea and document.execCommand("copy").
  function copyWithTextarea(text, near) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "0";
    area.style.left = "0";
    area.style.opacity = "0";
    // Inside an open modal, Bootstrap keeps focus there: put the textarea there too.
    var host = (near && near.closest(".modal")) || document.body;
    host.appendChild(area);
    area.focus();
    area.select();
    area.setSelectionRange(0, text.length);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    host.removeChild(area);
    if (near && typeof near.focus === "function") near.focus();
    return ok;
  }

  function copyText(text, near) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return "clipboard"; },
        function () { return copyWithTextarea(text, near) ? "fallback" : Promise.reject(new Error("copy failed")); }
      );
    }
    return copyWithTextarea(text, near) ? Promise.resolve("fallback") : Promise.reject(new Error("copy failed"));
  }
  window.berthCopy = copyText;

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    event.preventDefault();
    var text = button.getAttribute("data-copy");
    copyText(text, button).then(function (how) {
      button.dataset.copied = how;
      var icon = button.querySelector("i.bi");
      if (icon) {
        var previous = icon.className;
        icon.className = "bi bi-check2";
        setTimeout(function () { icon.className = previous; }, 1500);
      }
      toast("success", "Copied: " + text, "");
    }, function () {
      button.dataset.copied = "failed";
      // Leave the text selected so Ctrl+C still works.
      var input = button.parentElement && button.parentElement.querySelector("input");
      if (input) { input.focus(); input.select(); }
      toast("warning", "Could not copy automatically: press Ctrl+C to copy the selected text.", "");
    });
  });

  // --- bulk selection of tags ---------------------------------------------------------------
  var lastChecked = null;

  function updateBulk(form) {
    if (!form) return;
    var checked = form.querySelectorAll("[data-tag-check]:checked").length;
    var button = form.querySelector("#bulk-delete");
    if (button) {
      button.disabled = checked === 0;
      var badge = button.querySelector("[data-selected-count]");
      if (badge) badge.textContent = String(checked);
    }
    var all = form.querySelector("[data-select-all]");
    if (all) {
      var boxes = form.querySelectorAll("[data-tag-check]").length;
      all.checked = boxes > 0 && checked === boxes;
      all.indeterminate = checked > 0 && checked < boxes;
    }
  }

  document.addEventListener("click", function (event) {
    var box = event.target.closest("[data-tag-check]");
    if (!box) return;
    var form = box.closest("form");
    if (event.shiftKey && lastChecked && lastChecked !== box && form.contains(lastChecked)) {
      var boxes = Array.prototype.slice.call(form.querySelectorAll("[data-tag-check]"));
      var from = boxes.indexOf(lastChecked);
      var to = boxes.indexOf(box);
      boxes.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (b) { b.checked = box.checked; });
    }
    lastChecked = box;
    updateBulk(form);
  });

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (all) {
      var form = all.closest("form");
      form.querySelectorAll("[data-tag-check]").forEach(function (b) { b.checked = all.checked; });
      updateBulk(form);
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    lastChecked = null;
    updateBulk(document.getElementById("tag-bulk"));
  });

  // --- start ------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts [data-berth-toast]").forEach(function (element) {
      var code = element.querySelector("[data-toast-code]");
      if (code && !code.textContent.trim()) code.textContent = "";
      showToastElement(element);
    });
    updateBulk(document.getElementById("tag-bulk"));
  });
})();
