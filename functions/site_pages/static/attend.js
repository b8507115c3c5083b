"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const SESSION_KEY = "conference-attendee-session";
  const LOCALE = "en-US";
  // The local stack (loopback only) has a conference clock of its own, read from GET /_local/clock, and takes
  // `?tick=<seconds>` to tick faster, for tests. Deployed, conference time is this browser's clock.
  const LOCAL_STACK = ["127.0.0.1", "localhost", "[::1]"].includes(location.hostname);
  // Once a minute, or as `?tick=` says on the local stack.
  const TICK_MS = tickFromQuery() ?? 60_000;
  const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

  let conference = null;    // GET /conference
  let zone = BROWSER_ZONE;  // the conference's time zone once known
  let session = null;       // {token, attendee_id, expires_at, email}, kept in sessionStorage
  let heldCode = null;      // the access code typed or taken from the link, in this page's memory only
  let sessions = [];        // GET /me/sessions
  let attendance = null;    // GET /me/attendance
  let certificateUrl = null;
  let liveId = null;        // the live session last seen
  let lastCounted = null;   // when the last heartbeat was accepted (conference time)
  let stopped = false;      // superseded: no more heartbeats until the attendee counts here again
  let showAll = false;
  let generation = 0;       // bumped on every sign-in and sign-out: late answers of an older one are dropped
  let timer = null;
  let startTimer = null;
  let ticking = false;

  let clockOffset = 0;      // conference time minus this browser's time: 0 but on the local stack

  function tickFromQuery() {
    const seconds = Number(new URLSearchParams(location.search).get("tick"));
    return LOCAL_STACK && Number.isFinite(seconds) && seconds >= 1 && seconds <= 60 ? seconds * 1000 : null;
  }
  function now() {
    return Date.now() + clockOffset;
  }
  async function readLocalClock() {
    if (!LOCAL_STACK) return;
    const result = await call("GET", "/_local/clock");
    const at = Date.parse(result.data?.now ?? "");
    if (result.status === 200 && Number.isFinite(at)) clockOffset = at - Date.now();
  }

  // ---------- dates and times ----------
  function dayLabel(isoDate, options) {
    // A calendar date, not an instant: formatted in UTC so no time zone shifts it a day.
    return new Intl.DateTimeFormat(LOCALE, { timeZone: "UTC", ...options }).format(new Date(isoDate + "T00:00:00Z"));
  }
  function dayIn(timeZone, instant) {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(instant);
    const part = (type) => parts.find((p) => p.type === type).value;
    return part("year") + "-" + part("month") + "-" + part("day");
  }
  function zoneName(timeZone, instant, style = "long") {
    const parts = new Intl.DateTimeFormat(LOCALE, { timeZone, timeZoneName: style }).formatToParts(instant);
    return parts.find((part) => part.type === "timeZoneName")?.value ?? timeZone;
  }
  function sameOffset(instant) {
    return zoneName(zone, instant, "longOffset") === zoneName(BROWSER_ZONE, instant, "longOffset");
  }
  function timeRange(timeZone, start, end) {
    return new Intl.DateTimeFormat(LOCALE, { timeZone, hour: "numeric", minute: "2-digit", timeZoneName: "short" })
      .formatRange(start, end);
  }
  function clockTime(instant) {
    // Conference time, in the conference's zone, like the agenda.
    return new Intl.DateTimeFormat(LOCALE, {
      timeZone: zone, hour: "numeric", minute: "2-digit", second: "2-digit", timeZoneName: "short",
    }).format(instant);
  }
  function sentence(text) {
    const clean = String(text).trim();
    if (!clean) return "";
    const capital = clean.charAt(0).toUpperCase() + clean.slice(1);
    return /[.!?]$/.test(capital) ? capital : capital + ".";
  }

  // ---------- talking to the API ----------
  // {status, data, blob, response}; status 0 when the server could not be reached.
  async function call(method, path, { body, auth = false, blob = false } = {}) {
    const headers = { Accept: blob ? "application/pdf, application/problem+json" : "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth) headers.Authorization = "Bearer " + session.token;
    let response;
    try {
      response = await fetch(path, {
        method, headers, cache: "no-store", credentials: "omit",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      return { status: 0, data: null };
    }
    const result = { status: response.status, data: null, response };
    if (blob && response.ok) {
      result.blob = await response.blob();
    } else if (response.status !== 204) {
      try { result.data = await response.json(); } catch { result.data = null; }
    }
    return result;
  }

  // A call with the session token. Null when signed out meanwhile, or the token no longer holds (handled here).
  async function authed(method, path, options = {}) {
    if (!session) return null;
    const mine = generation;
    const result = await call(method, path, { ...options, auth: true });
    if (mine !== generation) return null;
    if (result.status === 401) {
      if (result.data?.code === "session_superseded") superseded();
      else sessionEnded();
      return null;
    }
    return result;
  }

  function problemDetail(result, fallback) {
    const detail = result?.data?.detail;
    return typeof detail === "string" && detail ? detail : fallback;
  }

  // ---------- the conference (public) ----------
  async function loadConference() {
    const result = await call("GET", "/conference");
    if (result.status !== 200 || !result.data) return;
    conference = result.data;
    zone = conference.timezone || BROWSER_ZONE;
    $("conference-name").textContent = conference.name;
    document.title = "Attend: " + conference.name;
    const dates = new Intl.DateTimeFormat(LOCALE, { timeZone: "UTC", month: "long", day: "numeric", year: "numeric" });
    $("conference-dates").textContent = dates.formatRange(
      new Date(conference.starts_on + "T00:00:00Z"), new Date(conference.ends_on + "T00:00:00Z"));
    const at = new Date(conference.sessions?.[0]?.starts_at ?? conference.starts_on + "T12:00:00Z");
    $("conference-timezone").textContent = zoneName(zone, at) + " (" + zone + ")";
    $("conference-facts").hidden = false;
    if (session) render();
  }

  // ---------- signing in ----------
  function clearFieldErrors(form) {
    for (const input of form.querySelectorAll('[aria-invalid="true"]')) input.removeAttribute("aria-invalid");
    for (const message of form.querySelectorAll(".field-error")) {
      message.textContent = "";
      message.hidden = true;
    }
  }
  function markField(input, message) {
    input.setAttribute("aria-invalid", "true");
    const slot = $(input.id + "-error");
    slot.textContent = sentence(message);
    slot.hidden = false;
  }
  // The browser's own checks, shown the same way as the server's; the first wrong field gets the focus.
  function checkFields(form) {
    clearFieldErrors(form);
    let first = null;
    for (const input of form.querySelectorAll("input")) {
      input.value = input.value.trim();
      if (!input.checkValidity()) {
        markField(input, input.validity.valueMissing ? "Enter your " + labelOf(input).toLowerCase() : input.validationMessage);
        first ??= input;
      }
    }
    first?.focus();
    return first === null;
  }
  function labelOf(input) {
    return document.querySelector('label[for="' + input.id + '"]').textContent.trim();
  }

  function keep() {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  }
  function kept() {
    try {
      const stored = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
      if (stored && typeof stored.token === "string" && Date.parse(stored.expires_at) > Date.now()) return stored;
    } catch { /* nothing usable */ }
    sessionStorage.removeItem(SESSION_KEY);
    return null;
  }

  // POST /logins. `where` is the form the answer is shown in ("signin" or "again").
  async function logIn(email, code, where) {
    const button = $(where + "-submit");
    const form = $(where + "-form");
    const codeInput = $(where + "-code");
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    if (where === "signin") $("signin-error").textContent = "";
    const result = await call("POST", "/logins", { body: { email, access_code: code } });
    button.disabled = false;
    form.removeAttribute("aria-busy");
    if (result.status === 200 && result.data?.session_token) {
      generation += 1;
      session = {
        token: result.data.session_token, attendee_id: result.data.attendee_id,
        expires_at: result.data.expires_at, email,
      };
      heldCode = code;
      keep();
      codeInput.value = "";
      enter(where === "signin");
      return true;
    }
    let message;
    if (result.status === 401) {
      message = "That email and access code do not match a paid seat. Check the code in your latest email, or ask for a new one.";
      markField(codeInput, "The email or access code is not right");
    } else if (result.status === 422 && Array.isArray(result.data?.errors)) {
      for (const error of result.data.errors) {
        const input = error.field === "email" && where === "signin" ? $("signin-email") : codeInput;
        markField(input, error.message);
      }
      message = "Please correct the marked field.";
    } else if (result.status === 0) {
      message = "We could not reach the server. Check your connection and try again.";
    } else {
      message = problemDetail(result, "Signing in did not work (HTTP " + result.status + "). Please try again in a moment.");
    }
    if (where === "signin") {
      $("signin-error").textContent = message;
      (form.querySelector('[aria-invalid="true"]') ?? codeInput).focus();
    } else {
      heldCode = null;
      if (!$("again-code-error").textContent) markField(codeInput, message);
      $("again-form").hidden = false;
      codeInput.focus();
    }
    return false;
  }

  async function submitSignIn(event) {
    event.preventDefault();
    $("signin-message").textContent = "";
    if (!checkFields($("signin-form"))) return;
    await logIn($("signin-email").value, $("signin-code").value, "signin");
  }

  // The confirmation email's link: /attend#email=<email>&code=<code>. The fragment never reaches a server; it
  // leaves the address bar (and the history entry) at once, before anything else happens.
  function fromLink() {
    if (!location.hash) return null;
    const fragment = new URLSearchParams(location.hash.slice(1));
    const email = fragment.get("email");
    const code = fragment.get("code");
    if (email !== null || code !== null) history.replaceState(history.state, "", location.pathname + location.search);
    if (email) {
      $("signin-email").value = email;
      $("code-email").value = email;
    }
    return email && code ? { email, code } : null;
  }

  // ---------- signed in ----------
  function enter(moveFocus) {
    stopped = false;
    $("superseded").hidden = true;
    $("again-form").hidden = true;
    clearFieldErrors($("again-form"));
    $("signin-view").hidden = true;
    $("attendee-view").hidden = false;
    $("attendee-aside").hidden = false;
    $("main").className = "wrap layout signed-in";
    if (moveFocus) $("welcome").focus();
    loadMe();
    restartTicks();
  }

  async function loadMe() {
    const result = await authed("GET", "/me");
    if (!result) return;
    if (result.status === 200 && result.data) {
      const me = result.data;
      $("attendee-name").textContent = [me.first_name, me.last_name].filter(Boolean).join(" ") || session.email;
      $("attendee-organization").textContent = [me.organization, session.email].filter(Boolean).join(" · ");
    } else {
      $("attendee-name").textContent = session.email;
    }
  }

  function restartTicks() {
    clearInterval(timer);
    timer = setInterval(tick, TICK_MS);
    tick();
  }
  function stopTicks() {
    clearInterval(timer);
    clearTimeout(startTimer);
    timer = startTimer = null;
  }

  // Each minute: the agenda (which session is live, its join link), a heartbeat for the live session, the
  // minutes and eligibility, and the certificate until it is there.
  async function tick() {
    if (!session || ticking) return;
    ticking = true;
    try {
      await readLocalClock();
      await loadSessions();
      const live = sessions.find((s) => s.live);
      if (live && live.id !== liveId) announce("“" + live.title + "” is live now.");
      liveId = live?.id ?? null;
      if (live && !stopped) await heartbeat(live);
      if (!stopped) await loadAttendance();
      if (!stopped && !certificateUrl) await loadCertificate();
      render();
      watchNextStart();
    } finally {
      ticking = false;
    }
  }

  async function loadSessions() {
    const result = await authed("GET", "/me/sessions");
    if (!result) return;
    if (result.status === 200 && Array.isArray(result.data)) {
      sessions = result.data;
      $("agenda-error").textContent = "";
    } else {
      $("agenda-error").textContent = result.status === 0
        ? "We could not reach the server; trying again in a minute."
        : "The agenda could not be loaded right now; trying again in a minute.";
    }
  }

  async function heartbeat(live) {
    const result = await authed("POST", "/attendance/heartbeats", { body: { session_id: live.id } });
    if (!result) return;
    if (result.status === 204) {
      lastCounted = new Date(now());
    } else if (result.status === 422) {
      liveId = null; // the agenda changed under us: the next tick reads it again
    }
  }

  // A session that starts before the next tick (by this browser's clock) is looked at as it starts, so its first
  // minute is counted at once; the tick catches it otherwise (the server's `live` is what counts).
  function watchNextStart() {
    clearTimeout(startTimer);
    startTimer = null;
    if (stopped || !session) return;
    const at = now();
    const next = sessions.map((s) => Date.parse(s.starts_at)).filter((t) => t > at).sort((a, b) => a - b)[0];
    if (next !== undefined && next - at < TICK_MS) startTimer = setTimeout(tick, next - at + 1500);
  }

  async function loadAttendance() {
    const result = await authed("GET", "/me/attendance");
    if (result?.status === 200 && result.data) attendance = { ...result.data, at: new Date(now()) };
  }

  async function loadCertificate() {
    const result = await authed("GET", "/me/certificate", { blob: true });
    if (result?.status !== 200 || !result.blob) return;
    const pdf = result.blob.type === "application/pdf" ? result.blob : new Blob([result.blob], { type: "application/pdf" });
    certificateUrl = URL.createObjectURL(pdf);
    const link = $("certificate-link");
    link.href = certificateUrl;
    link.download = fileName(result.response.headers.get("Content-Disposition"));
    $("certificate-pending").hidden = true;
    $("certificate-ready").hidden = false;
    announce("Your certificate of attendance is ready to download.");
  }
  function fileName(disposition) {
    const found = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition ?? "");
    const name = found ? decodeURIComponent(found[1]).replace(/[\\/]/g, "_") : "";
    return name.toLowerCase().endsWith(".pdf") ? name : "certificate-" + (conference?.id ?? "of-attendance") + ".pdf";
  }

  // ---------- superseded, expired, signed out ----------
  function superseded() {
    if (stopped) return;
    stopped = true;
    stopTicks();
    $("superseded").hidden = false;
    $("again-form").hidden = true;
    $("count-here").hidden = false;
    renderCounting();
    $("superseded").focus();
    announce("You signed in on another device; this page stopped counting your attendance.");
  }

  async function countHere() {
    if (heldCode && session) {
      $("count-here").disabled = true;
      const ok = await logIn(session.email, heldCode, "again");
      $("count-here").disabled = false;
      if (ok) announce("This page counts your attendance again.");
      return;
    }
    $("count-here").hidden = true;
    $("again-form").hidden = false;
    $("again-code").focus();
  }

  async function submitAgain(event) {
    event.preventDefault();
    if (!checkFields($("again-form")) || !session) return;
    if (await logIn(session.email, $("again-code").value, "again")) announce("This page counts your attendance again.");
  }

  function forget() {
    generation += 1;
    stopTicks();
    sessionStorage.removeItem(SESSION_KEY);
    session = null;
    heldCode = null;
    sessions = [];
    attendance = null;
    liveId = lastCounted = null;
    stopped = false;
    if (certificateUrl) URL.revokeObjectURL(certificateUrl);
    certificateUrl = null;
    $("certificate-link").href = "#";
    $("certificate-pending").hidden = false;
    $("certificate-ready").hidden = true;
    $("agenda").replaceChildren();
    $("reasons").replaceChildren();
    $("attendee-name").textContent = "…";
    $("attendee-organization").textContent = "";
  }

  function showSignIn(message) {
    $("attendee-view").hidden = true;
    $("attendee-aside").hidden = true;
    $("signin-view").hidden = false;
    $("main").className = "wrap layout signed-out";
    $("signin-message").textContent = message ?? "";
    $("signin-error").textContent = "";
    clearFieldErrors($("signin-form"));
    ($("signin-email").value ? $("signin-code") : $("signin-email")).focus();
  }

  function sessionEnded() {
    const email = session?.email;
    forget();
    if (email) $("signin-email").value = email;
    showSignIn("Your session has ended. Please sign in again.");
  }

  async function signOut() {
    const button = $("sign-out");
    button.disabled = true;
    if (session) await call("DELETE", "/me/session", { auth: true });
    button.disabled = false;
    forget();
    showSignIn("You signed out.");
  }

  // ---------- "Email me my code" ----------
  async function submitCode(event) {
    event.preventDefault();
    $("code-message").textContent = "";
    if (!checkFields($("code-form"))) return;
    const button = $("code-submit");
    button.disabled = true;
    const result = await call("POST", "/access-codes", { body: { email: $("code-email").value } });
    button.disabled = false;
    if (result.status === 422 && Array.isArray(result.data?.errors) && result.data.errors.length) {
      markField($("code-email"), result.data.errors[0].message);
      $("code-email").focus();
    } else if (result.status === 0) {
      $("code-message").textContent = "We could not reach the server. Check your connection and try again.";
    } else if (result.status === 429) {
      $("code-message").textContent = problemDetail(result, "Too many requests; please wait a few minutes and try again.");
    } else if (result.status >= 500) {
      $("code-message").textContent = "Something went wrong on our side. Please try again in a moment.";
    } else {
      // The same words whatever the email: the answer never tells whether an address holds a seat.
      $("code-message").textContent = "If that email holds a paid seat, we sent a new code.";
    }
  }

  // ---------- showing it ----------
  function announce(text) {
    $("announcer").textContent = text;
  }

  function render() {
    renderAgenda();
    renderCounting();
    renderAttendance();
  }

  // The conference day of "now" in the conference's zone. A live session (or one with its join link, from 15
  // minutes before it starts) fixes it, as the server sees it; otherwise the clock, read in the conference's zone.
  function today() {
    const live = sessions.find((s) => s.live) ?? sessions.find((s) => s.join_url);
    return live ? live.day : dayIn(zone, new Date(now()));
  }

  function renderAgenda() {
    const days = [...new Set(sessions.map((s) => s.day))].sort();
    const agenda = $("agenda");
    // The agenda is drawn anew each minute: a keyboard user on a session's Join link stays on it.
    const focusedOn = agenda.contains(document.activeElement)
      ? document.activeElement.closest("li.session")?.dataset.sessionId : null;
    agenda.replaceChildren();
    const toggle = $("agenda-toggle");
    if (!days.length) {
      $("agenda-heading").textContent = "Agenda";
      $("agenda-note").textContent = "Loading the agenda…";
      toggle.hidden = true;
      return;
    }
    const day = today();
    let shown;
    let note;
    if (day < days[0]) {
      shown = [days[0]];
      note = "The conference starts on " + dayLabel(days[0], { weekday: "long", month: "long", day: "numeric" }) + ". Here is its first day.";
    } else if (day > days[days.length - 1] || !days.includes(day)) {
      shown = days;
      note = day > days[days.length - 1] ? "The conference has ended. Here is the whole agenda." : "No sessions today. Here is the whole agenda.";
    } else {
      shown = [day];
      note = "";
    }
    const whole = shown.length === days.length && days.length > 1;
    toggle.hidden = whole && !showAll;
    if (showAll) shown = days;
    toggle.textContent = showAll ? "Show one day" : "Show all days";
    toggle.setAttribute("aria-expanded", String(showAll));
    $("agenda-heading").textContent = shown.length > 1 ? "Agenda" : day === shown[0] ? "Today's agenda" : "Agenda";

    const first = new Date(sessions[0].starts_at);
    const differs = !sameOffset(first);
    const zones = "Times are " + zoneName(zone, first) + " (the conference's time)" +
      (differs ? ", with your time (" + zoneName(BROWSER_ZONE, first) + ") below each." : ".");
    $("agenda-note").textContent = (note ? note + " " : "") + zones;

    const minutes = new Map((attendance?.sessions ?? []).map((s) => [s.session_id, s]));
    for (const date of shown) {
      const section = document.createElement("section");
      section.className = "agenda-day";
      section.setAttribute("aria-label", dayLabel(date, { weekday: "long", month: "long", day: "numeric" }));
      if (shown.length > 1 || date !== day) {
        const heading = document.createElement("h3");
        heading.textContent = dayLabel(date, { weekday: "long", month: "long", day: "numeric" });
        section.append(heading);
      }
      const list = document.createElement("ol");
      for (const s of sessions.filter((x) => x.day === date)) list.append(sessionItem(s, minutes.get(s.id)));
      section.append(list);
      agenda.append(section);
    }
    if (focusedOn) {
      const item = [...agenda.querySelectorAll("li.session")].find((li) => li.dataset.sessionId === focusedOn);
      // Its link gone (the session ended): the agenda's heading, rather than the top of the page.
      (item?.querySelector("a.join") ?? $("agenda-heading")).focus();
    }
  }

  function sessionItem(s, counted) {
    const item = document.createElement("li");
    item.className = "session" + (s.live ? " is-live" : "");
    item.dataset.sessionId = s.id;
    if (s.live) item.setAttribute("aria-current", "time");
    const start = new Date(s.starts_at);
    const end = new Date(s.ends_at);

    const when = document.createElement("div");
    when.className = "when";
    const time = document.createElement("time");
    time.dateTime = s.starts_at;
    time.textContent = timeRange(zone, start, end);
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = String(s.kind ?? "").replaceAll("_", " ");
    when.append(time, kind);
    if (s.live) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "Live now";
      when.append(badge);
    }
    item.append(when);
    if (!sameOffset(start)) {
      const local = document.createElement("p");
      local.className = "local-time";
      local.textContent = "Your time: " + timeRange(BROWSER_ZONE, start, end);
      item.append(local);
    }
    const title = document.createElement("p");
    title.className = "session-title";
    title.textContent = s.title;
    item.append(title);
    if (Array.isArray(s.speakers) && s.speakers.length) {
      const speakers = document.createElement("p");
      speakers.className = "speakers";
      speakers.textContent = (s.speakers.length === 1 ? "Speaker: " : "Speakers: ") + s.speakers.join("; ");
      item.append(speakers);
    }
    if (counted) {
      const line = document.createElement("p");
      line.className = "minutes";
      line.dataset.minutes = String(counted.minutes_attended);
      const number = document.createElement("strong");
      number.textContent = String(counted.minutes_attended);
      line.append(number, " of " + counted.minutes_scheduled + " minutes attended");
      item.append(line);
    }
    const url = safeUrl(s.join_url);
    if (url) {
      const join = document.createElement("a");
      join.className = "button primary join";
      join.href = url;
      join.target = "_blank";
      join.rel = "noopener";
      join.append("Join");
      const more = document.createElement("span");
      more.className = "visually-hidden";
      more.textContent = " “" + s.title + "” (opens in a new tab)";
      join.append(more);
      item.append(join);
    }
    return item;
  }

  function safeUrl(text) {
    if (typeof text !== "string" || !text) return null;
    try {
      const url = new URL(text);
      return url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function renderCounting() {
    const line = $("counting");
    const live = sessions.find((s) => s.live);
    if (stopped) {
      line.dataset.state = "stopped";
      line.textContent = "Not counting your attendance on this page.";
    } else if (live) {
      line.dataset.state = "counting";
      line.textContent = "Counting your attendance in “" + live.title + "”" +
        (lastCounted ? " (last counted at " + clockTime(lastCounted) + ")." : ".") +
        " Keep this page open while you watch.";
    } else {
      line.dataset.state = "idle";
      line.textContent = "No session is live right now. When one starts, keep this page open to have your minutes counted.";
    }
  }

  function renderAttendance() {
    if (!attendance) return;
    const word = $("eligibility");
    word.dataset.eligible = String(Boolean(attendance.eligible));
    word.textContent = attendance.eligible ? "You qualify for a certificate" : "Not eligible for a certificate yet";
    $("hours").textContent = String(attendance.hours) + (attendance.hours === 1 ? " hour" : " hours");
    const sum = (key) => (attendance.sessions ?? []).reduce((total, s) => total + (s[key] || 0), 0);
    $("minutes-total").textContent = sum("minutes_attended") + " of " + sum("minutes_scheduled");
    $("days").textContent = String(attendance.days_logged_in);
    const reasons = $("reasons");
    reasons.replaceChildren(...(attendance.reasons ?? []).map((reason) => {
      const item = document.createElement("li");
      item.textContent = sentence(reason);
      return item;
    }));
    $("progress-updated").textContent = "Updated every minute; last at " + clockTime(attendance.at) + ".";
  }

  // ---------- start ----------
  $("signin-form").addEventListener("submit", submitSignIn);
  $("code-form").addEventListener("submit", submitCode);
  $("again-form").addEventListener("submit", submitAgain);
  $("count-here").addEventListener("click", countHere);
  $("sign-out").addEventListener("click", signOut);
  $("agenda-toggle").addEventListener("click", () => {
    showAll = !showAll;
    renderAgenda();
  });
  $("signin-email").addEventListener("change", () => {
    if (!$("code-email").value) $("code-email").value = $("signin-email").value;
  });
  // A tab brought back to the front catches up at once (browsers slow the timers of hidden tabs).
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && session && !stopped) tick();
  });

  const link = fromLink();
  loadConference();
  if (link) {
    logIn(link.email, link.code, "signin");
  } else {
    session = kept();
    if (session) {
      $("signin-email").value = session.email;
      enter(false);
    } else {
      showSignIn();
    }
  }
})();
