"use strict";
(() => {
  const MAX_ATTENDEES = 50;
  const POLL_EVERY_MS = 1500;
  const POLL_FOR_MS = 5 * 60 * 1000;
  const $ = (id) => document.getElementById(id);
  const form = $("registration-form");
  const rows = $("attendee-rows");
  // A pristine first row, cloned for every added attendee (the HTML holds exactly one).
  const rowTemplate = rows.firstElementChild.cloneNode(true);
  let fee = null;          // {amount, currency} from GET /conference
  let lastKey = null;      // Idempotency-Key of the last body sent, and that body
  let lastBody = null;

  // ---------- money and dates ----------
  function money(amount, currency) {
    const format = new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(amount / 10 ** digits);
  }
  function day(isoDate, options) {
    // A calendar date, not an instant: format it in UTC so no time zone shifts it a day.
    return new Intl.DateTimeFormat("en-US", { timeZone: "UTC", ...options }).format(new Date(isoDate + "T00:00:00Z"));
  }

  // ---------- the conference ----------
  async function loadConference() {
    try {
      const response = await fetch("/conference", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      showConference(await response.json());
    } catch (error) {
      $("conference-error").hidden = false;
      $("agenda-zone").textContent = "The agenda could not be loaded right now.";
    }
  }

  function showConference(conference) {
    fee = conference.fee;
    $("conference-name").textContent = conference.name;
    document.title = "Register: " + conference.name;
    const first = new Date(conference.starts_on + "T00:00:00Z");
    const last = new Date(conference.ends_on + "T00:00:00Z");
    const dates = new Intl.DateTimeFormat("en-US", { timeZone: "UTC", month: "long", day: "numeric", year: "numeric" });
    $("conference-dates").textContent = dates.formatRange(first, last);
    const zoneName = zoneLabel(conference.timezone, conference.sessions[0]?.starts_at ?? conference.starts_on);
    $("conference-timezone").textContent = zoneName + " (" + conference.timezone + ")";
    $("conference-fee").textContent = money(fee.amount, fee.currency);
    $("conference-facts").hidden = false;
    showAgenda(conference, zoneName);
    updateTotal();
  }

  function zoneLabel(zone, at) {
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "long" }).formatToParts(new Date(at));
    return parts.find((part) => part.type === "timeZoneName")?.value ?? zone;
  }

  function showAgenda(conference, zoneName) {
    const agenda = $("agenda");
    agenda.replaceChildren();
    $("agenda-zone").textContent = "All times are " + zoneName + ".";
    const time = new Intl.DateTimeFormat("en-US", { timeZone: conference.timezone, hour: "numeric", minute: "2-digit" });
    const days = new Map();
    for (const session of conference.sessions) {
      if (!days.has(session.day)) days.set(session.day, []);
      days.get(session.day).push(session);
    }
    for (const [date, sessions] of days) {
      const section = document.createElement("section");
      section.className = "agenda-day";
      const heading = document.createElement("h3");
      heading.textContent = day(date, { weekday: "long", month: "long", day: "numeric" });
      const list = document.createElement("ol");
      for (const session of sessions) {
        const item = document.createElement("li");
        const when = document.createElement("time");
        when.dateTime = session.starts_at;
        when.textContent = time.formatRange(new Date(session.starts_at), new Date(session.ends_at));
        const kind = document.createElement("span");
        kind.className = "kind";
        kind.textContent = session.kind.replaceAll("_", " ");
        const line = document.createElement("div");
        line.className = "when";
        line.append(when, kind);
        const title = document.createElement("div");
        title.textContent = session.title;
        item.append(line, title);
        list.append(item);
      }
      section.append(heading, list);
      agenda.append(section);
    }
  }

  // ---------- individual or group ----------
  function kind() {
    return form.elements.kind.value === "group" ? "group" : "individual";
  }

  function showKind() {
    const group = kind() === "group";
    // Hidden sections are also disabled, so their fields are neither checked nor sent.
    for (const [id, shown] of [["individual-fields", !group], ["group-fields", group]]) {
      const section = $(id);
      section.hidden = !shown;
      for (const fieldset of section.querySelectorAll(":scope > fieldset")) fieldset.disabled = !shown;
    }
    updateTotal();
  }

  function attendeeRows() {
    return Array.from(rows.children);
  }

  function renumber() {
    const all = attendeeRows();
    all.forEach((row, index) => {
      for (const element of row.querySelectorAll("[id], [for], [aria-describedby]")) {
        for (const name of ["id", "for", "aria-describedby"]) {
          const value = element.getAttribute(name);
          if (value) element.setAttribute(name, value.replace(/attendees-\d+-/g, "attendees-" + index + "-"));
        }
      }
      for (const number of row.querySelectorAll(".row-number")) number.textContent = String(index + 1);
      row.querySelector(".remove-attendee").disabled = all.length === 1;
    });
    $("add-attendee").disabled = all.length >= MAX_ATTENDEES;
    updateTotal();
  }

  function addAttendee() {
    if (attendeeRows().length >= MAX_ATTENDEES) return;
    const row = rowTemplate.cloneNode(true);
    rows.append(row);
    renumber();
    row.querySelector("input").focus();
    announce("Attendee " + attendeeRows().length + " added.");
  }

  function removeAttendee(row) {
    const all = attendeeRows();
    if (all.length === 1) return;
    const position = all.indexOf(row);
    row.remove();
    renumber();
    const next = attendeeRows()[Math.min(position, attendeeRows().length - 1)];
    next.querySelector("input").focus();
    announce("Attendee " + (position + 1) + " removed. " + attendeeRows().length + " attendees left.");
  }

  function seats() {
    return kind() === "group" ? attendeeRows().length : 1;
  }

  function updateTotal() {
    const count = seats();
    if (!fee) {
      $("total-amount").textContent = "–";
      $("total-breakdown").textContent = "(" + count + (count === 1 ? " seat)" : " seats)");
      return;
    }
    $("total-amount").textContent = money(fee.amount * count, fee.currency);
    $("total-breakdown").textContent =
      "(" + count + (count === 1 ? " seat" : " seats") + " × " + money(fee.amount, fee.currency) + ")";
  }

  // ---------- the body: exactly API.md's shapes ----------
  function value(input) {
    return input.value.trim();
  }

  function pick(prefix, names, optional) {
    const out = {};
    for (const name of names) {
      const text = value(form.elements[prefix + "." + name]);
      if (text !== "" || !optional.includes(name)) out[name] = text;
    }
    return out;
  }

  function body() {
    if (kind() === "individual") {
      const address = pick("shipping_address", ["line1", "city", "state", "postal_code", "country"], []);
      const line2 = value(form.elements["shipping_address.line2"]);
      return {
        kind: "individual",
        attendee: pick("attendee", ["first_name", "last_name", "email", "organization", "job_title", "phone"], ["job_title", "phone"]),
        shipping_address: {
          line1: address.line1, line2: line2 === "" ? null : line2, city: address.city, state: address.state,
          postal_code: address.postal_code, country: address.country,
        },
      };
    }
    return {
      kind: "group",
      purchaser: pick("purchaser", ["name", "email", "organization"], []),
      attendees: attendeeRows().map((row) => {
        const attendee = {};
        for (const name of ["first_name", "last_name", "email", "organization", "job_title"]) {
          const text = value(row.querySelector('[name="' + name + '"]'));
          if (text !== "" || name !== "job_title") attendee[name] = text;
        }
        return attendee;
      }),
    };
  }

  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // ---------- errors ----------
  function inputFor(field) {
    // "attendees[2].email" -> #attendees-2-email; "shipping_address.postal_code" -> #shipping_address-postal_code
    if (typeof field !== "string") return null;
    const id = field.replace(/\[(\d+)\]/g, "-$1").replaceAll(".", "-");
    const input = /^[A-Za-z0-9_-]+$/.test(id) ? document.getElementById(id) : null;
    return input && input.form === form && !input.matches(":disabled") ? input : null;
  }

  function clearErrors() {
    for (const input of form.querySelectorAll('[aria-invalid="true"]')) input.removeAttribute("aria-invalid");
    for (const message of form.querySelectorAll(".field-error")) {
      message.textContent = "";
      message.hidden = true;
    }
    $("error-summary").hidden = true;
    $("error-summary-list").replaceChildren();
    $("error-summary-detail").hidden = true;
  }

  function sentence(text) {
    const clean = String(text).trim();
    return clean.charAt(0).toUpperCase() + clean.slice(1);
  }

  function markField(input, message) {
    input.setAttribute("aria-invalid", "true");
    const slot = $(input.id + "-error");
    slot.textContent = slot.hidden ? sentence(message) : slot.textContent + " " + sentence(message);
    slot.hidden = false;
  }

  // errors: [{field, message}] from a problem (or [{input, message}] from the browser's checks);
  // detail: a sentence for the top of the summary.
  function showErrors(errors, detail) {
    clearErrors();
    const list = $("error-summary-list");
    let first = null;
    for (const error of errors) {
      const input = error.input ?? inputFor(error.field);
      const item = document.createElement("li");
      if (input) {
        markField(input, error.message);
        first ??= input;
        const link = document.createElement("a");
        link.href = "#" + input.id;
        link.textContent = labelOf(input) + ": " + sentence(error.message);
        link.addEventListener("click", (event) => { event.preventDefault(); input.focus(); });
        item.append(link);
      } else {
        item.textContent = sentence(error.message);
      }
      list.append(item);
    }
    if (detail) {
      $("error-summary-detail").textContent = detail;
      $("error-summary-detail").hidden = false;
    }
    $("error-summary-title").textContent = errors.length ? "Please correct the following" : "There is a problem";
    $("error-summary").hidden = false;
    (first ?? $("error-summary")).focus();
  }

  function labelOf(input) {
    const label = form.querySelector('label[for="' + input.id + '"]');
    const name = label ? label.firstChild.textContent.trim() : input.name;
    const row = input.closest(".attendee-row");
    return row ? "Attendee " + (attendeeRows().indexOf(row) + 1) + ", " + name.toLowerCase() : name;
  }

  // The browser's own checks (required, maxlength, type=email, pattern), shown like the server's errors.
  function clientErrors() {
    const errors = [];
    for (const input of form.querySelectorAll("input:enabled:not([type=radio])")) {
      // Spaces alone are no answer: the server strips them, so "required" must see an empty field.
      if (input.value.trim() === "") input.value = "";
      if (!input.checkValidity()) errors.push({ input, message: input.validationMessage });
    }
    return errors;
  }

  // ---------- submit ----------
  function announce(text) {
    $("form-live").textContent = text;
  }

  async function problemOf(response) {
    try {
      const problem = await response.json();
      return problem && typeof problem === "object" ? problem : {};
    } catch {
      return {};
    }
  }

  async function submit(event) {
    event.preventDefault();
    const button = $("submit");
    if (button.disabled) return;
    const invalid = clientErrors();
    if (invalid.length) {
      showErrors(invalid);
      announce("");
      return;
    }
    const payload = JSON.stringify(body());
    // One key per filled-in form: a retry or double click of the same answers sends the same key (so the
    // server answers the same), a corrected form is a new request with a new key.
    if (payload !== lastBody) {
      lastKey = newKey();
      lastBody = payload;
    }
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    announce("Sending your registration…");
    let response;
    try {
      response = await fetch("/registrations", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": lastKey },
        body: payload,
      });
    } catch {
      finish();
      showErrors([], "We could not reach the server. Check your connection and try again.");
      return;
    }
    if (response.status === 200 || response.status === 201) {
      const created = await problemOf(response);
      const url = safeUrl(created.checkout_url);
      if (url) {
        announce("Registration saved. Taking you to the payment page…");
        location.assign(url);
        return;
      }
    }
    finish();
    const problem = await problemOf(response);
    if (response.status === 422 && problem.code === "idempotency_key_reused") lastBody = null;
    const errors = response.status === 422 && Array.isArray(problem.errors) ? problem.errors : [];
    const detail = errors.length ? "" : typeof problem.detail === "string" && problem.detail
      ? problem.detail
      : "Something went wrong on our side (HTTP " + response.status + "). Please try again in a moment.";
    showErrors(errors, detail);
  }

  function finish() {
    $("submit").disabled = false;
    form.removeAttribute("aria-busy");
    announce("");
  }

  function safeUrl(text) {
    try {
      const url = new URL(text, location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  // ---------- the return page: /?registration_id=...&checkout=success|cancelled ----------
  const LABELS = {
    pending_payment: "Awaiting payment", paid: "Paid", expired: "Expired", cancelled: "Cancelled",
    refunded: "Refunded", disputed: "Disputed",
  };
  const FINAL = new Set(["paid", "expired", "cancelled", "refunded", "disputed"]);

  function messageFor(status, checkout) {
    switch (status) {
      case "pending_payment":
        return checkout === "cancelled"
          ? "Payment was cancelled; your registration is kept for an hour, you can submit the form again to pay."
          : "We are waiting for Stripe to confirm your payment…";
      case "paid":
        return "Payment received. Each attendee will get a confirmation email with a personal access code.";
      case "expired":
        return "The payment time ran out, so this registration expired and its seats were released. You can register again.";
      case "cancelled":
        return "The payment did not go through, so this registration was cancelled and its seats were released. You can register again.";
      case "refunded":
        return "This registration was refunded; its seats are no longer reserved.";
      case "disputed":
        return "The payment for this registration is being disputed with the card issuer. The organizers will contact you.";
      default:
        return "We could not read the status of this registration.";
    }
  }

  function statusView(registrationId, checkout) {
    $("form-view").hidden = true;
    $("status-view").hidden = false;
    $("status-reference").textContent = "Registration reference: " + registrationId;
    const word = $("registration-status");
    const message = $("status-message");
    const started = Date.now();
    let timer = null;
    let shown = null;

    function show(status, text) {
      word.dataset.status = status;
      word.textContent = LABELS[status] ?? "Unknown";
      // Only a change is written, so a screen reader hears each new state once.
      if (text !== shown) message.textContent = shown = text;
    }

    async function poll() {
      try {
        const response = await fetch("/registrations/" + encodeURIComponent(registrationId), {
          headers: { Accept: "application/json" }, cache: "no-store",
        });
        if (response.status === 404) {
          show("unknown", "We could not find this registration. Please check the link, or register again.");
          return;
        }
        if (response.ok) {
          const registration = await response.json();
          show(registration.status, messageFor(registration.status, checkout));
          if (FINAL.has(registration.status)) return;
        }
      } catch {
        // A dropped connection is retried on the next tick.
      }
      if (Date.now() - started < POLL_FOR_MS) {
        timer = setTimeout(poll, POLL_EVERY_MS);
      } else {
        $("status-retry").hidden = false;
        if (shown && word.dataset.status === "pending_payment" && checkout !== "cancelled") {
          message.textContent = shown = "Stripe has not confirmed the payment yet. Check again in a few minutes; you will also get an email once it is confirmed.";
        }
      }
    }

    $("status-retry").addEventListener("click", () => {
      $("status-retry").hidden = true;
      clearTimeout(timer);
      statusView(registrationId, checkout);
    }, { once: true });
    poll();
  }

  // ---------- start ----------
  form.addEventListener("submit", submit);
  for (const radio of form.elements.kind) radio.addEventListener("change", showKind);
  $("add-attendee").addEventListener("click", addAttendee);
  rows.addEventListener("click", (event) => {
    const button = event.target.closest(".remove-attendee");
    if (button) removeAttendee(button.closest(".attendee-row"));
  });
  $("shipping_address-country").addEventListener("input", (event) => {
    event.target.value = event.target.value.toUpperCase();
  });
  // Back from Checkout, the browser may restore this page as it was left: mid-submit, button disabled.
  window.addEventListener("pageshow", (event) => { if (event.persisted) finish(); });
  showKind();
  renumber();
  $("submit").disabled = false;
  loadConference();

  const query = new URLSearchParams(location.search);
  const registrationId = query.get("registration_id");
  if (registrationId) statusView(registrationId, query.get("checkout"));
})();
