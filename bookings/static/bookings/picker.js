/* The time picker of the booking pages (templates/bookings/_picker.html), enhanced:
   the calendar and the times change in place from the page's JSON endpoints instead of
   reloading, and the time zone field gets a searchable list. Without this script the
   same picker works through its links and the "Update times" button. */
(function () {
  "use strict";
  var root = document.querySelector("[data-picker]");
  var zoneInput = document.getElementById("id_timezone");
  if (!root || !zoneInput || !window.fetch || !window.URL) return;

  var COOKIE = "leadsync_tz";
  var state = { month: root.getAttribute("data-month"), date: root.getAttribute("data-date") };
  var shownZone = zoneInput.value;
  /* Dates in the page's language; texts from the template's data-msg-* (translated there). */
  var lang = document.documentElement.lang || "en";
  var locale = lang === "en" ? "en-GB" : lang;
  var monthTitle = new Intl.DateTimeFormat(locale, { month: "long", year: "numeric", timeZone: "UTC" });
  var dayLabel = new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" });

  function msg(name, values) {
    var text = root.getAttribute("data-msg-" + name) || "";
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }

  function utcDate(iso) {
    var p = iso.split("-").map(Number);
    return new Date(Date.UTC(p[0], p[1] - 1, p[2] || 1));
  }

  /* The no-JS address of the page as now shown (its other parameters kept). */
  function pageUrl(params) {
    var url = new URL(location.href);
    Object.keys(params).forEach(function (k) {
      if (params[k]) url.searchParams.set(k, params[k]); else url.searchParams.delete(k);
    });
    url.searchParams.set("tz", shownZone);
    return url.pathname + url.search;
  }

  function getJSON(base, params) {
    var url = new URL(base, location.href);
    Object.keys(params).forEach(function (k) { url.searchParams.set(k, params[k]); });
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || msg("no-answer"));
          return body;
        });
      });
  }

  function remember() {
    history.replaceState(null, "", pageUrl({ month: state.month, date: state.date }));
    document.cookie = COOKIE + "=" + encodeURIComponent(shownZone) + "; path=/; max-age=31536000; samesite=lax";
  }

  function renderTimes(payload) {
    var list = root.querySelector("[data-times]");
    var title = root.querySelector("[data-times-title]");
    /* A day shown again (a month's first day, then its link) keeps the time chosen in it. */
    var checked = list.querySelector("input[name=slot]:checked");
    var chosen = checked ? checked.value : "";
    list.textContent = "";
    if (!payload) {
      title.textContent = msg("pick-day");
      list.appendChild(el("p", { "class": "note" }, msg("pick-free-day")));
      return;
    }
    title.textContent = dayLabel.format(utcDate(payload.date));
    var status = root.querySelector("[data-status]");
    if (status) {
      var n = payload.times.length;
      var day = title.textContent;
      status.textContent = msg(n === 0 ? "count-none" : n === 1 ? "count-one" : "count-other", { n: n, day: day });
    }
    if (!payload.times.length) {
      list.appendChild(el("p", { "class": "note" }, msg("no-times-day")));
    }
    payload.times.forEach(function (t, i) {
      var id = "slot-" + (i + 1);
      var radio = el("input", { type: "radio", name: "slot", id: id, value: t.slot });
      if (t.slot === chosen) radio.checked = true;
      list.appendChild(radio);
      var label = el("label", { "for": id }, t.label);
      label.appendChild(el("span", { "class": "vh" }, " " + msg("to", { end: t.end })));
      list.appendChild(label);
    });
  }

  function navLink(which, month) {
    var slot = root.querySelector('[data-nav="' + which + '"]');
    slot.textContent = "";
    if (!month) return;
    slot.appendChild(el("a", { "class": "cal-nav", href: pageUrl({ month: month, date: "" }), "data-month": month,
      "aria-label": msg(which) }, which === "prev" ? "\u2039" : "\u203a"));
  }

  function renderMonth(payload) {
    var first = utcDate(payload.month);
    var free = {};
    payload.days.forEach(function (d) { free[d] = true; });
    root.querySelector(".cal-title").textContent = monthTitle.format(first);
    navLink("prev", payload.prev);
    navLink("next", payload.next);
    var body = root.querySelector(".cal tbody");
    body.textContent = "";
    var lead = (first.getUTCDay() + 6) % 7;  /* Monday first */
    var count = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
    var row = el("tr");
    for (var i = 0; i < lead; i++) row.appendChild(el("td"));
    for (var day = 1; day <= count; day++) {
      var iso = payload.month + "-" + (day < 10 ? "0" : "") + day;
      var cell = el("td");
      if (free[iso]) {
        cell.appendChild(el("a", { "class": "day free", href: pageUrl({ month: payload.month, date: iso }),
          "data-date": iso, "aria-label": msg("free-day", { day: dayLabel.format(utcDate(iso)) }) }, String(day)));
      } else {
        cell.appendChild(el("span", { "class": "day" }, String(day)));
      }
      row.appendChild(cell);
      if (row.children.length === 7) { body.appendChild(row); row = el("tr"); }
    }
    if (row.children.length) {
      while (row.children.length < 7) row.appendChild(el("td"));
      body.appendChild(row);
    }
    var empty = root.querySelector("[data-empty]");
    if (empty) empty.hidden = payload.days.length > 0;
  }

  function markSelected() {
    root.querySelectorAll(".day.free").forEach(function (a) {
      var on = a.getAttribute("data-date") === state.date;
      a.classList.toggle("selected", on);
      if (on) a.setAttribute("aria-current", "date"); else a.removeAttribute("aria-current");
    });
  }

  function showError(message) {
    var list = root.querySelector("[data-times]");
    list.textContent = "";
    list.appendChild(el("p", { "class": "errorlist", role: "alert" }, message));
  }

  function selectDate(date) {
    state.date = date;
    markSelected();
    remember();
    if (!date) { renderTimes(null); return Promise.resolve(); }
    return getJSON(root.getAttribute("data-times-url"), { date: date, tz: shownZone })
      .then(function (payload) { if (payload.date === state.date) renderTimes(payload); })
      .catch(function (e) { showError(e.message); });
  }

  function loadMonth(month, keepDate) {
    return getJSON(root.getAttribute("data-days-url"), { month: month, tz: shownZone })
      .then(function (payload) {
        state.month = payload.month;
        renderMonth(payload);
        var date = keepDate && payload.days.indexOf(state.date) !== -1 ? state.date : (payload.days[0] || "");
        return selectDate(date);
      });
  }

  root.addEventListener("click", function (event) {
    var link = event.target.closest("a.day.free, a.cal-nav");
    if (!link) return;
    event.preventDefault();
    if (link.classList.contains("day")) {
      selectDate(link.getAttribute("data-date"));
    } else {
      loadMonth(link.getAttribute("data-month"), false).catch(function (e) { showError(e.message); });
    }
  });

  /* The time zone: a searchable list (loaded once, on first use), applied in place. */
  var zonesLoaded = false;
  zoneInput.addEventListener("focus", function () {
    zoneInput.select();
    if (zonesLoaded) return;
    zonesLoaded = true;
    getJSON(root.getAttribute("data-zones-url"), {}).then(function (payload) {
      var list = document.getElementById("tz-zones");
      var fragment = document.createDocumentFragment();
      payload.zones.forEach(function (z) { fragment.appendChild(el("option", { value: z[0] })); });
      list.appendChild(fragment);
    }).catch(function () { zonesLoaded = false; });
  });

  function applyZone() {
    var wanted = zoneInput.value.trim();
    if (!wanted || wanted === shownZone) { zoneInput.value = shownZone; return; }
    var previous = shownZone;
    shownZone = wanted;
    loadMonth(state.month, true).then(function () {
      zoneInput.removeAttribute("aria-invalid");
    }).catch(function () {
      shownZone = previous;
      zoneInput.setAttribute("aria-invalid", "true");
      showError(msg("unknown-zone", { zone: wanted }));
    });
  }
  zoneInput.addEventListener("change", applyZone);
  zoneInput.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); applyZone(); }
  });
  var update = document.querySelector("[data-update-times]");
  if (update) update.addEventListener("click", function (event) { event.preventDefault(); applyZone(); });
})();
