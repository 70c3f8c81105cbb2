/* LeadSync booking pages on your own site.

   In the page:  <div data-leadsync-page="https://…/acme/intro-call/"></div>
   As a pop-up:  <a href="https://…/acme/intro-call/" data-leadsync-popup>Book a meeting</a>
   and once:     <script src="https://…/static/leadsync/embed.js" async></script>

   The booking page gets this page's URL parameters (?utm_source=…&LeadSource=…), so they
   reach the Salesforce mappings exactly as on the booking page itself, and its frame grows
   to fit the page. The booking page may be framed only by sites your LeadSync tenant lists. */
(function () {
  "use strict";
  var MARK = "leadsync_embed";
  var frames = [];

  function pageUrl(url) {
    var target = new URL(url, window.location.href);
    new URLSearchParams(window.location.search).forEach(function (value, key) {
      if (key !== MARK && !target.searchParams.has(key)) target.searchParams.append(key, value);
    });
    target.searchParams.set(MARK, "1");
    return target.toString();
  }

  function frame(url) {
    var iframe = document.createElement("iframe");
    iframe.src = pageUrl(url);
    iframe.title = "Book a meeting";
    iframe.setAttribute("data-leadsync", "");
    iframe.style.cssText = "display:block;width:100%;min-height:480px;border:0;background:#fff";
    frames.push(iframe);
    return iframe;
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || data.leadsync !== "height" || typeof data.height !== "number") return;
    frames.forEach(function (iframe) {
      if (iframe.contentWindow === event.source) iframe.style.height = Math.ceil(data.height) + "px";
    });
  });

  function popup(url) {
    var overlay = document.createElement("div");
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", "Book a meeting");
    overlay.style.cssText = "position:fixed;inset:0;z-index:2147483000;background:rgba(0,0,0,.55);" +
      "display:flex;align-items:flex-start;justify-content:center;overflow:auto;padding:24px 8px";
    var box = document.createElement("div");
    box.style.cssText = "position:relative;width:min(680px,100%);background:#fff;border-radius:12px;overflow:hidden";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", "Close");
    close.style.cssText = "position:absolute;top:6px;right:8px;font-size:24px;border:0;background:none;cursor:pointer";
    function shut() { overlay.remove(); document.removeEventListener("keydown", onKey); }
    function onKey(event) { if (event.key === "Escape") shut(); }
    close.addEventListener("click", shut);
    overlay.addEventListener("click", function (event) { if (event.target === overlay) shut(); });
    document.addEventListener("keydown", onKey);
    box.appendChild(close);
    box.appendChild(frame(url));
    overlay.appendChild(box);
    document.body.appendChild(overlay);
    close.focus();
  }

  function start() {
    document.querySelectorAll("[data-leadsync-page]").forEach(function (holder) {
      if (holder.querySelector("iframe[data-leadsync]")) return;
      holder.appendChild(frame(holder.getAttribute("data-leadsync-page")));
    });
    document.querySelectorAll("a[data-leadsync-popup]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        popup(link.href);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
