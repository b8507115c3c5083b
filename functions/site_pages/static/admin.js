"use strict";
(() => {
  const EVENT_KEY = "conference-admin-event";
  const REFUNDABLE = new Set(["paid", "disputed"]);
  const SCREENFUL = 50;           // registrations shown per load (the API's page size)
  const MAX_PAGES_AT_ONCE = 10;   // pages read for one load at most
  const LABELS = {
    pending_payment: "Pending payment", paid: "Paid", expired: "Expired", cancelled: "Cancelled",
    refunded: "Refunded", disputed: "Disputed", invoice_requested: "Invoice requested", invoiced: "Invoiced",
  };
  const dueDate = new Intl.DateTimeFormat("en-US", { dateStyle: "medium" });
  const $ = (id) => document.getElementById(id);
  const created = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short" });

  let loaded = [];          // registrations loaded so far for the current filter
  let mailListed = [];      // the event's attendees whose mail did not arrive (GET /admin/attendees), newest first
  let listed = "";          // the status filter they were listed with ("" for all)
  let nextCursor = null;
  let generation = 0;       // a newer listing makes older answers stale
  const requested = new Set();  // registrations whose refund was requested from this page

  let events = [];          // GET /admin/events: every event, published or not
  let selected = null;      // the event the lists, exports, issue and editor are about (null: the server's featured)
  // The editor: editing the selected event at the version it was loaded at, or creating a new one.
  let editor = { mode: "edit", id: null, version: null, etag: null, detail: null, dirty: false };
  let editorGeneration = 0; // a newer load makes older answers stale
  let base = null;          // the document last put in the form (its currency and rounding are kept as they are)
  let rowCount = 0;         // unique ids for the agenda rows' inputs
  let errorCount = 0;       // unique ids for the field errors

  // ---------- where organisers sign in ----------
  // The user pool's app client and its endpoint: the one place that knows where they come from. The site function
  // answers /site-config.json from the deployment (the template's pool and client; locally the local pool's).
  let poolAnswer = null;
  function organiserPool() {
    poolAnswer ??= (async () => {
      const response = await fetch("/site-config.json", { headers: { Accept: "application/json" } });
      const cognito = (response.ok ? await response.json() : {}).cognito ?? {};
      if (typeof cognito.endpoint !== "string" || typeof cognito.client_id !== "string") {
        throw new SignInError("Config", "Organiser sign-in is not set up for this site: no user pool is configured.");
      }
      return { endpoint: cognito.endpoint, clientId: cognito.client_id, userPoolId: cognito.user_pool_id };
    })().catch((error) => {
      poolAnswer = null;  // asked again next time
      throw error instanceof SignInError ? error : new SignInError("Network", SIGN_IN_UNREACHABLE);
    });
    return poolAnswer;
  }

  // ---------- Cognito's own API (unsigned calls: sign in, refresh, sign out) ----------
  const SIGN_IN_UNREACHABLE = "The sign-in service could not be reached. Check the connection and try again.";

  class SignInError extends Error {
    constructor(type, message) {
      super(message);
      this.type = type;  // Cognito's error type, such as NotAuthorizedException
    }
  }

  async function cognito(action, body) {
    const { endpoint } = await organiserPool();
    let response;
    try {
      response = await fetch(endpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": "AWSCognitoIdentityProviderService." + action,
        },
        body: JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
        referrerPolicy: "no-referrer",
      });
    } catch {
      throw new SignInError("Network", SIGN_IN_UNREACHABLE);
    }
    let answer = {};
    try {
      answer = await response.json();
    } catch {
      answer = {};
    }
    if (!response.ok) {
      // `__type` is the exception's name, sometimes namespaced ("…#NotAuthorizedException").
      const type = String(answer.__type ?? answer.code ?? "").split("#").pop();
      throw new SignInError(type || "HTTP " + response.status, String(answer.message ?? answer.Message ?? ""));
    }
    return answer;
  }

  // ---------- the tokens (this tab only) ----------
  const SESSION_KEY = "conference-admin-session";
  const REFRESH_AHEAD = 60_000;  // a fresh access token is fetched a minute before the current one expires
  let refreshTimer = null;
  let refreshing = null;  // one refresh at a time: every caller waits for the same one

  function session() {
    try {
      const kept = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
      return kept && typeof kept.access === "string" ? kept : null;
    } catch {
      return null;
    }
  }

  // A token's payload, read only to show who is signed in and what to offer: the server verifies the token.
  function claimsOf(jwt) {
    try {
      const part = String(jwt).split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
      const bytes = Uint8Array.from(atob(part + "===".slice((part.length + 3) % 4)), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes)) ?? {};
    } catch {
      return {};
    }
  }

  // `email` is the one typed at sign-in, shown only if the ID token names none.
  function keep(result, previous, email) {
    const lifetime = Math.max(Number(result.ExpiresIn) || 3600, 1) * 1000;
    const kept = {
      access: result.AccessToken,
      id: result.IdToken ?? previous?.id ?? null,
      refresh: result.RefreshToken ?? previous?.refresh ?? null,  // a refresh answers no new refresh token
      email: email ?? previous?.email ?? null,
      lifetime,
      expiresAt: Date.now() + lifetime,
    };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(kept));
    scheduleRefresh(kept);
    showWho(kept);
    return kept;
  }

  function forgetTokens() {
    sessionStorage.removeItem(SESSION_KEY);
    clearTimeout(refreshTimer);
    refreshTimer = null;
  }

  // A minute before expiry (or halfway through a token shorter than two minutes).
  function refreshDue(kept) {
    return kept.expiresAt - Math.min(REFRESH_AHEAD, (Number(kept.lifetime) || 0) / 2);
  }

  function scheduleRefresh(kept) {
    clearTimeout(refreshTimer);
    const wait = Math.max(refreshDue(kept) - Date.now(), 1000);
    refreshTimer = setTimeout(async () => {
      try {
        if (!(await refreshTokens())) sessionEnded();
      } catch {
        // Unreachable for now: try again shortly while the token lasts; a call made meanwhile refreshes it too.
        const current = session();
        if (current && current.expiresAt > Date.now()) {
          refreshTimer = setTimeout(() => scheduleRefresh(current), 15_000);
        }
      }
    }, wait);
  }

  // The session with a new access token; null when Cognito no longer accepts the refresh token (expired, revoked
  // by a sign-out elsewhere, the account disabled). Throws a SignInError when Cognito cannot be reached.
  function refreshTokens() {
    refreshing ??= (async () => {
      const current = session();
      if (!current?.refresh) return null;
      const { clientId } = await organiserPool();
      try {
        const answer = await cognito("InitiateAuth", {
          AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: clientId, AuthParameters: { REFRESH_TOKEN: current.refresh },
        });
        if (session()?.refresh !== current.refresh) return session();  // signed out (or in again) meanwhile
        if (!answer.AuthenticationResult?.AccessToken) return null;
        const kept = keep(answer.AuthenticationResult, current);
        applyGroups();
        return kept;
      } catch (error) {
        if (error.type === "NotAuthorizedException" || error.type === "UserNotFoundException") return null;
        throw error;
      }
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  // The access token to send now: refreshed first when it is due (a timer in a background tab may run late).
  async function accessToken() {
    const current = session();
    if (!current) return null;
    if (Date.now() < refreshDue(current)) return current.access;
    try {
      return (await refreshTokens())?.access ?? null;
    } catch {
      return current.expiresAt > Date.now() ? current.access : null;
    }
  }

  // ---------- who is signed in, and what their groups allow ----------
  const GROUPS = ["viewer", "support", "finance", "admin"];
  // The server's table (shared/api/admin_auth.py): viewer reads; support and finance read and add their own
  // actions; admin does everything. Used only to offer what is allowed: every route checks it again.
  const MAY = {
    resend: ["support", "admin"],
    certificates: ["support", "admin"],
    events: ["support", "admin"],
    refund: ["finance", "admin"],
    invoice: ["finance", "admin"],
    correct: ["support", "admin"],
    substitute: ["support", "admin"],
    people: ["admin"],
    force: ["admin"],
  };
  let groups = new Set();

  function groupsOf(kept) {
    const value = kept ? claimsOf(kept.access)["cognito:groups"] : [];
    const names = Array.isArray(value) ? value : String(value ?? "").split(/[\s,]+/);
    return new Set(names.filter((name) => GROUPS.includes(name)));
  }

  function may(action) {
    return (MAY[action] ?? []).some((group) => groups.has(group));
  }

  function applyGroups() {
    groups = groupsOf(session());
    for (const action of Object.keys(MAY)) document.body.classList.toggle("may-" + action, may(action));
    const missing = [];
    if (!may("refund")) missing.push("refunds need the finance or admin group");
    if (!may("resend")) missing.push("resending confirmations needs the support or admin group");
    const note = $("registrations-role");
    note.hidden = missing.length === 0;
    note.textContent = missing.length ? missing.join("; ").replace(/^./, (c) => c.toUpperCase()) + "." : "";
    $("event-fields").disabled = !may("events");
    editorHeading();
    render();
    renderRegistration();
  }

  function showWho(kept) {
    const id = claimsOf(kept.id);
    const access = claimsOf(kept.access);
    const names = [...groupsOf(kept)];
    const email = [id.email, kept.email].find((value) => typeof value === "string" && value.includes("@"));
    $("who-email").textContent = email ?? id["cognito:username"] ?? access.username ?? "";
    $("who-groups").textContent = names.length ? (names.length === 1 ? "Group: " : "Groups: ") + names.join(", ") : "No group";
    $("who").hidden = false;
  }

  class Unauthorised extends Error {}
  const SESSION_ENDED = "Your session has ended. Sign in again.";

  // Back to the sign-in form, nothing of the organiser's data left on the page.
  function signedOut(message, { keepEmail = true, status = "" } = {}) {
    forgetTokens();
    sessionStorage.removeItem(EVENT_KEY);
    generation += 1;  // answers still on their way belong to the old session: dropped
    editorGeneration += 1;
    selected = null;
    loaded = [];
    mailListed = [];
    nextCursor = null;
    events = [];
    requested.clear();
    closeRegistration();  // nothing of the organiser's data left on the page
    render();
    $("history-rows").replaceChildren();
    for (const form of ["person-form", "reissue-form"]) $(form).reset();
    for (const id of ["events-message", "events-error", "registrations-message", "registrations-error",
      "editor-message", "person-message", "person-error", "reissue-message", "reissue-error"]) say(id, "");
    forgetEventResults();
    clearProblems();
    editor = { mode: "edit", id: null, version: null, etag: null, detail: null, dirty: false };
    groups = new Set();
    for (const action of Object.keys(MAY)) document.body.classList.remove("may-" + action);
    $("registrations-table").setAttribute("aria-busy", "false");
    $("load-more").disabled = false;
    $("refresh").disabled = false;
    $("workspace").hidden = true;
    $("who").hidden = true;
    $("who-email").textContent = "";
    $("who-groups").textContent = "";
    $("signin-view").hidden = false;
    if (!keepEmail) $("signin-email").value = "";
    showStep("password-form");
    say("signin-error", message ?? "");
    say("signin-status", status);
    const email = $("signin-email");
    (email.value ? $("signin-password") : email).focus();
  }

  // A call found the session over; unless the organiser has signed out meanwhile (the call was on its way).
  function sessionEnded() {
    if (session() || !$("workspace").hidden) signedOut(SESSION_ENDED);
  }

  function signedIn() {
    $("signin-view").hidden = true;
    say("signin-error", "");
    say("signin-status", "");
    $("workspace").hidden = false;
  }

  // ---------- the sign-in form: password, then the step Cognito asks for ----------
  let challenge = null;  // { name, session, username } while Cognito waits for an answer

  const STEP_HEADINGS = {
    "password-form": "Sign in", "mfa-form": "Enter your authenticator code", "new-password-form": "Choose your password",
  };

  function showStep(id) {
    for (const form of document.querySelectorAll("#signin-view .signin-step")) form.hidden = form.id !== id;
    for (const field of document.querySelectorAll("#signin-view input")) field.removeAttribute("aria-invalid");
    $("signin-heading").textContent = STEP_HEADINGS[id];
    if (id === "password-form") {
      challenge = null;
      $("signin-password").value = "";
    }
    $("mfa-code").value = "";
    $("new-password").value = "";
    $("new-password-again").value = "";
  }

  function refuse(field, message) {
    say("signin-error", message);
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }

  // While Cognito (then the first lists) answer, the step's buttons wait.
  function busy(form, on) {
    for (const button of $(form).querySelectorAll("button")) button.disabled = on;
    if (on) say("signin-status", "Signing in…");
  }

  // Cognito's refusals in an organiser's words.
  function signInWords(error) {
    const message = error.message ?? "";
    switch (error.type) {
      case "NotAuthorizedException":
        if (/disabled/i.test(message)) return "This account is disabled. Ask an administrator.";
        if (/attempts exceeded/i.test(message)) return "Too many failed attempts. Wait a few minutes, then try again.";
        if (/session/i.test(message)) return "The sign-in took too long. Start again with your email and password.";
        return "The email or password is not right.";
      case "UserNotFoundException":
        return "The email or password is not right.";
      case "PasswordResetRequiredException":
        return "Your password has to be reset. Ask an administrator for a new temporary password.";
      case "UserNotConfirmedException":
        return "This account is not confirmed yet. Ask an administrator.";
      case "CodeMismatchException":
        return "That code is not right. Enter the code your authenticator app shows now.";
      case "ExpiredCodeException":
        return "That code has expired. Enter the code your authenticator app shows now.";
      case "InvalidPasswordException":
        return "Cognito refused the new password" + (message ? ": " + message.replace(/^Password does not conform to policy: /, "") : "") +
          ". " + $("new-password-rules").textContent.replace(/\s+/g, " ").trim();
      case "TooManyRequestsException":
      case "TooManyFailedAttemptsException":
      case "LimitExceededException":
        return "Too many attempts. Wait a few minutes, then try again.";
      case "ResourceNotFoundException":
        return "The sign-in took too long or this site's sign-in is not set up. Start again with your email and password.";
      default:
        return error instanceof SignInError && message ? "Could not sign in: " + message : error.message || SIGN_IN_UNREACHABLE;
    }
  }

  function failedSignIn(error, field) {
    say("signin-status", "");
    const words = signInWords(error);
    const restart = error.type === "ResourceNotFoundException" ||
      (error.type === "NotAuthorizedException" && /session/i.test(error.message ?? ""));
    if (restart && challenge) {
      showStep("password-form");
      refuse($("signin-password"), words);
    } else if (field) {
      refuse(field, words);
    } else {
      say("signin-error", words);
    }
  }

  // Cognito's answer to a step: the tokens, or the next step it asks for.
  async function proceed(answer, username) {
    if (answer.AuthenticationResult?.AccessToken) return finishSignIn(answer.AuthenticationResult);
    const parameters = answer.ChallengeParameters ?? {};
    challenge = {
      name: answer.ChallengeName,
      session: answer.Session,
      username: parameters.USER_ID_FOR_SRP ?? parameters.USERNAME ?? username,
    };
    say("signin-error", "");
    if (challenge.name === "NEW_PASSWORD_REQUIRED") {
      showStep("new-password-form");
      $("new-password-username").value = $("signin-email").value.trim();
      say("signin-status", "Step 2 of 2: choose your own password.");
      $("new-password").focus();
    } else if (challenge.name === "SOFTWARE_TOKEN_MFA") {
      showStep("mfa-form");
      say("signin-status", "Step 2 of 2: enter the code from your authenticator app.");
      $("mfa-code").focus();
    } else {
      showStep("password-form");
      refuse($("signin-email"), challenge.name === "MFA_SETUP"
        ? "Your account has to set up an authenticator app first, which this page cannot do yet. Ask an administrator."
        : "Cognito asked for a sign-in step this page does not support (" + String(challenge.name) + ").");
    }
  }

  async function finishSignIn(result) {
    challenge = null;
    const kept = keep(result, null, $("signin-email").value.trim());
    if (groupsOf(kept).size === 0) {
      cognito("GlobalSignOut", { AccessToken: kept.access }).catch(() => {});
      signedOut("Your account is in no organiser group (viewer, support, finance or admin) yet. " +
        "Ask an administrator to add you, then sign in again.");
      return;
    }
    applyGroups();
    if (await open()) {
      showStep("password-form");
      say("signin-status", "");
      $("registrations-heading").focus();
    }
  }

  async function answerChallenge(responses, form, field) {
    busy(form, true);
    try {
      const { clientId } = await organiserPool();
      const answer = await cognito("RespondToAuthChallenge", {
        ChallengeName: challenge.name, ClientId: clientId, Session: challenge.session,
        ChallengeResponses: { USERNAME: challenge.username, ...responses },
      });
      await proceed(answer, challenge.username);
    } catch (error) {
      failedSignIn(error, field);
    } finally {
      busy(form, false);
    }
  }

  $("password-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = $("signin-email");
    const password = $("signin-password");
    for (const field of [email, password]) field.removeAttribute("aria-invalid");
    if (!email.value.trim()) return refuse(email, "Enter your email.");
    if (!password.value) return refuse(password, "Enter your password.");
    busy("password-form", true);
    say("signin-error", "");
    try {
      const { clientId } = await organiserPool();
      const answer = await cognito("InitiateAuth", {
        AuthFlow: "USER_PASSWORD_AUTH", ClientId: clientId,
        AuthParameters: { USERNAME: email.value.trim(), PASSWORD: password.value },
      });
      await proceed(answer, email.value.trim());
    } catch (error) {
      failedSignIn(error, error.type === "Network" || error.type === "Config" ? null : password);
    } finally {
      busy("password-form", false);
    }
  });

  $("mfa-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = $("mfa-code");
    const digits = code.value.replace(/\s+/g, "");
    code.removeAttribute("aria-invalid");
    if (!/^\d{6,8}$/.test(digits)) return refuse(code, "Enter the 6-digit code from your authenticator app.");
    answerChallenge({ SOFTWARE_TOKEN_MFA_CODE: digits }, "mfa-form", code);
  });

  // The pool's password policy, checked before Cognito is asked (it checks again).
  function passwordMisses(password) {
    const misses = [];
    if (password.length < 12) misses.push("at least 12 characters");
    if (!/[A-Z]/.test(password)) misses.push("an uppercase letter");
    if (!/[a-z]/.test(password)) misses.push("a lowercase letter");
    if (!/[0-9]/.test(password)) misses.push("a digit");
    if (!/[^A-Za-z0-9]/.test(password)) misses.push("a symbol");
    return misses;
  }

  $("new-password-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const password = $("new-password");
    const again = $("new-password-again");
    for (const field of [password, again]) field.removeAttribute("aria-invalid");
    const misses = passwordMisses(password.value);
    if (misses.length) return refuse(password, "The new password needs " + misses.join(", ") + ".");
    if (again.value !== password.value) return refuse(again, "The two new passwords are not the same.");
    answerChallenge({ NEW_PASSWORD: password.value }, "new-password-form", password);
  });

  for (const button of document.querySelectorAll('#signin-view [data-action="restart"]')) {
    button.addEventListener("click", () => {
      showStep("password-form");
      say("signin-error", "");
      say("signin-status", "");
      $("signin-password").focus();
    });
  }

  // Cognito ends every session of this person (their refresh tokens stop working), then the tab forgets its tokens.
  $("sign-out").addEventListener("click", async () => {
    const button = $("sign-out");
    button.disabled = true;
    const current = session();
    let ended = true;
    if (current) {
      try {
        await cognito("GlobalSignOut", { AccessToken: (await accessToken()) ?? current.access });
      } catch {
        ended = false;
      }
    }
    button.disabled = false;
    signedOut("", {
      keepEmail: false,
      status: ended ? "You are signed out." : "You are signed out in this tab. The sign-in service could not be " +
        "reached to end your other sessions; they end when their tokens expire.",
    });
  });

  // ---------- talking to the API ----------
  // A refused request: its words for the page, its HTTP status and the problem document (code, errors) if any.
  class Problem extends Error {
    constructor(message, status, body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  function problemText(problem, status) {
    const parts = [];
    if (problem && typeof problem.detail === "string" && problem.detail) parts.push(problem.detail);
    if (problem && Array.isArray(problem.errors)) {
      for (const error of problem.errors) {
        if (error && typeof error.message === "string") {
          parts.push((typeof error.field === "string" ? error.field.replaceAll("_", " ") + ": " : "") + error.message);
        }
      }
    }
    return parts.length ? parts.join(" ") : "Something went wrong on the server (HTTP " + status + "). Please try again.";
  }

  // Answers the Response when it is 2xx (or, asked for with redirect "manual", a redirect). Every call carries the
  // access token; a 401 gets one new access token and one more try, then signs out; any other answer throws a
  // Problem with the problem's words (a 403 says what the organiser's group may not do).
  async function call(method, path, body, { redirect = "follow", headers: extra = {} } = {}) {
    const send = async (access) => {
      const headers = { Authorization: "Bearer " + access, Accept: "application/json", ...extra };
      const options = { method, headers, cache: "no-store", redirect };
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(body);
      }
      try {
        return await fetch(path, options);
      } catch {
        throw new Error("The server could not be reached. Check the connection and try again.");
      }
    };
    const access = await accessToken();
    if (!access) {
      sessionEnded();
      throw new Unauthorised();
    }
    let response = await send(access);
    if (response.status === 401) {
      let renewed = null;
      try {
        renewed = await refreshTokens();
      } catch {
        renewed = null;
      }
      if (renewed) response = await send(renewed.access);
      if (!renewed || response.status === 401) {
        sessionEnded();
        throw new Unauthorised();
      }
    }
    if (response.type === "opaqueredirect") return response;
    if (!response.ok) {
      let problem = null;
      try {
        problem = await response.json();
      } catch {
        problem = null;
      }
      throw new Problem(problemText(problem, response.status), response.status, problem);
    }
    return response;
  }

  // The selected event as a query (`?event_id=…`), with the other parameters given.
  function withEvent(path, parameters = {}) {
    const query = new URLSearchParams(parameters);
    if (selected) query.set("event_id", selected);
    const text = query.toString();
    return path + (text ? "?" + text : "");
  }

  function say(id, text) {
    $(id).textContent = text;
  }

  function failed(id, error) {
    if (!(error instanceof Unauthorised)) say(id, error.message);
  }

  // ---------- registrations ----------
  function filterStatus() {
    return $("status-filter").value;
  }

  // Answers "ok", "unauthorised", "failed" (shown in the section) or "stale" (a newer listing took over).
  async function listRegistrations(more) {
    const mine = more ? generation : ++generation;
    if (!more) {
      loaded = [];
      listed = filterStatus();
      nextCursor = null;
      render();
    }
    say("registrations-error", "");
    const table = $("registrations-table");
    table.setAttribute("aria-busy", "true");
    $("load-more").disabled = true;
    $("refresh").disabled = true;
    say("registrations-count", "Loading registrations…");
    try {
      let cursor = more ? nextCursor : null;
      let found = 0;
      // Without a filter the listing walks the statuses in turn, one status per page, so a page may be short (even
      // empty) and still have a next one: pages are read on until a screenful is shown or the listing ends.
      for (let pages = 0; pages < MAX_PAGES_AT_ONCE; pages += 1) {
        const parameters = {};
        if (listed) parameters.status = listed;
        if (cursor) parameters.cursor = cursor;
        const response = await call("GET", withEvent("/admin/registrations", parameters));
        const page = await response.json();
        if (mine !== generation) return "stale";
        loaded.push(...page.items);
        found += page.items.length;
        cursor = page.next_cursor ?? null;
        if (found >= SCREENFUL || cursor === null) break;
      }
      nextCursor = cursor;
      render();
      if (!more) await loadMailProblems();
      return "ok";
    } catch (error) {
      if (error instanceof Unauthorised) return "unauthorised";
      if (mine !== generation) return "stale";
      failed("registrations-error", error);
      return "failed";
    } finally {
      if (mine === generation) {
        table.setAttribute("aria-busy", "false");
        $("load-more").disabled = false;
        $("refresh").disabled = false;
        if (session()) render();  // the count says "loaded" only now, once every request of this listing is answered
      }
    }
  }

  function matches(registration, words) {
    if (!words) return true;
    const haystack = [registration.registration_id];
    for (const a of registration.attendees) haystack.push(a.first_name + " " + a.last_name, a.email, a.attendee_id);
    const text = haystack.join("\n").toLowerCase();
    return words.split(/\s+/).every((word) => text.includes(word));
  }

  function render() {
    const words = $("search").value.trim().toLowerCase();
    const body = $("registrations-rows");
    const rows = [];
    for (const registration of loaded) {
      if (matches(registration, words)) rows.push(row(registration));
    }
    body.replaceChildren(...rows);
    renderMailProblems();
    const empty = $("registrations-empty");
    empty.hidden = rows.length > 0;
    empty.textContent = loaded.length === 0
      ? "No registrations" + (listed ? " with the status " + LABELS[listed].toLowerCase() : "") + " loaded."
      : "No loaded registration matches “" + $("search").value.trim() + "”.";
    $("load-more").hidden = nextCursor === null;
    // While a listing runs (a token refresh re-renders the groups' actions meanwhile) the count keeps saying so.
    if ($("registrations-table").getAttribute("aria-busy") === "true") return;
    const noun = loaded.length === 1 ? " registration" : " registrations";
    say("registrations-count", words
      ? "Showing " + rows.length + " of " + loaded.length + noun + " loaded" + (nextCursor ? "; load more to search further." : ".")
      : loaded.length + noun + " loaded" + (nextCursor ? "; there are more." : "."));
  }

  function cell(...children) {
    const td = document.createElement("td");
    td.append(...children);
    return td;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function actionButton(label, className, registrationId, action) {
    const button = element("button", className + " small");
    button.type = "button";
    button.dataset.action = action;
    button.append(label, element("span", "visually-hidden", " registration " + registrationId));
    return button;
  }

  function row(registration) {
    const tr = document.createElement("tr");
    const id = registration.registration_id;
    tr.dataset.registrationId = id;
    tr.dataset.status = registration.status;

    const idCell = element("th");
    idCell.scope = "row";
    // The id opens the registration's detail: its seats, their changes and its history.
    const detailLink = element("a");
    detailLink.href = "#registration-detail";
    detailLink.dataset.action = "details";
    detailLink.append(element("code", "", id));
    idCell.append(detailLink);

    const word = element("span", "status-word", LABELS[registration.status] ?? registration.status);
    word.dataset.status = registration.status;

    const when = element("time");
    when.dateTime = registration.created_at;
    const moment = new Date(registration.created_at);
    when.textContent = Number.isNaN(moment.getTime()) ? registration.created_at : created.format(moment);

    const people = element("ul", "attendees");
    for (const attendee of registration.attendees) {
      const item = element("li", "", attendee.first_name + " " + attendee.last_name);
      item.append(element("span", "email", attendee.email));
      if (MAIL_PROBLEMS[attendee.email_status]) item.append(element("span", "mail-status", MAIL_PROBLEMS[attendee.email_status]));
      people.append(item);
    }

    // Only what the organiser's groups allow is offered (the section's note says what the others need).
    const actions = element("div", "row-actions");
    if (REFUNDABLE.has(registration.status)) {
      if (may("refund")) {
        const refund = actionButton("Refund", "danger", id, "refund");
        if (requested.has(id)) refund.disabled = true;
        actions.append(refund);
      }
      if (may("resend")) actions.append(actionButton("Resend confirmation", "secondary", id, "resend"));
    }
    if (registration.status === "invoice_requested" && may("invoice")) {
      actions.append(actionButton("Approve invoice", "", id, "approve-invoice"));
      actions.append(actionButton("Reject", "danger", id, "reject-invoice"));
    }
    const statusCell = cell(word);
    if (registration.invoice) statusCell.append(invoiceNote(registration.invoice));
    const actionCell = cell(actions);
    if (!actions.childElementCount) actionCell.append(element("span", "row-note", "None"));
    else if (requested.has(id)) actionCell.append(element("span", "row-note", "Refund requested"));

    const seats = cell(String(registration.seats));
    seats.className = "number";
    tr.append(idCell, cell(registration.kind), statusCell, seats, cell(when), cell(people), actionCell);
    return tr;
  }

  // ---------- mail that did not arrive (SES's bounces and complaints), and the address corrected ----------
  const MAIL_PROBLEMS = { bounced: "Bounced", complained: "Marked as spam" };
  let correcting = null;  // the attendee whose address the form corrects

  function mailProblems() {
    return mailListed;
  }

  // The first page of each list (bounced, complained) of the selected event.
  async function loadMailProblems() {
    say("mail-problems-error", "");
    try {
      const pages = await Promise.all(["bounced", "complained"].map(async (status) => {
        const response = await call("GET", withEvent("/admin/attendees", { email_status: status }));
        return response.json();
      }));
      mailListed = pages.flatMap((page) => page.items);
      $("mail-problems-more").hidden = !pages.some((page) => page.next_cursor);
    } catch (error) {
      failed("mail-problems-error", error);
    }
    renderMailProblems();
  }

  function renderMailProblems() {
    const found = mailProblems();
    const items = found.map((attendee) => {
      const item = element("li", "mail-problem");
      item.dataset.attendeeId = attendee.attendee_id;
      item.append(
        element("strong", "", attendee.first_name + " " + attendee.last_name),
        " ",
        element("span", "email", attendee.email),
        " ",
        element("span", "mail-status", MAIL_PROBLEMS[attendee.email_status]),
      );
      if (attendee.email_status_reason) item.append(element("span", "mail-reason", attendee.email_status_reason));
      if (may("correct")) {
        const button = element("button", "secondary small", "Correct the email");
        button.type = "button";
        button.dataset.action = "correct";
        button.append(element("span", "visually-hidden", " of " + attendee.first_name + " " + attendee.last_name));
        item.append(button);
      }
      return item;
    });
    $("mail-problems-list").replaceChildren(...items);
    $("mail-problems-empty").hidden = found.length > 0;
    $("mail-problems-role").hidden = found.length === 0 || may("correct");
    if (correcting && !found.some((a) => a.attendee_id === correcting.attendee_id)) closeCorrection();
  }

  function openCorrection(attendeeId) {
    const attendee = mailProblems().find((a) => a.attendee_id === attendeeId);
    if (!attendee) return;
    correcting = attendee;
    say("correct-name", attendee.first_name + " " + attendee.last_name);
    say("correct-was", attendee.email);
    say("correct-message", "");
    say("correct-error", "");
    const input = $("correct-email");
    input.value = attendee.email;
    input.removeAttribute("aria-invalid");
    $("correct-form").hidden = false;
    input.focus();
    input.select();
  }

  function closeCorrection() {
    correcting = null;
    $("correct-form").hidden = true;
  }

  async function correct(event) {
    event.preventDefault();
    const button = $("correct-submit");
    if (button.disabled || !correcting) return;
    say("correct-message", "");
    say("correct-error", "");
    const input = $("correct-email");
    const email = input.value.trim();
    if (!email || !input.checkValidity() || email.toLowerCase() === correcting.email.toLowerCase()) {
      input.setAttribute("aria-invalid", "true");
      say("correct-error", email ? "Enter the attendee's correct address (not the one that did not arrive)." : "Enter the correct email address.");
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    button.disabled = true;
    try {
      const response = await call("PATCH", "/admin/attendees/" + encodeURIComponent(correcting.attendee_id), { email });
      const corrected = await response.json();
      closeCorrection();
      say("correct-message", corrected.first_name + " " + corrected.last_name + "'s address is now " + corrected.email +
        "; the confirmation with a new access code is on its way.");
      await listRegistrations(false);
      $("mail-problems-heading").focus();
    } catch (error) {
      input.setAttribute("aria-invalid", "true");
      failed("correct-error", error);
      input.focus();
    } finally {
      button.disabled = false;
    }
  }

  async function refund(id, button) {
    const ok = window.confirm(
      "Refund registration " + id + " in full through Stripe?\n\nIts seats stop being valid once Stripe confirms the refund. This cannot be undone."
    );
    if (!ok) return;
    button.disabled = true;
    say("registrations-message", "");
    say("registrations-error", "");
    try {
      const response = await call("POST", "/admin/registrations/" + encodeURIComponent(id) + "/refund");
      const accepted = await response.json();
      requested.add(id);
      say("registrations-message", typeof accepted.detail === "string" ? accepted.detail : "Refund requested.");
      render();
    } catch (error) {
      button.disabled = false;
      failed("registrations-error", error);
    }
  }

  // ---------- paying by invoice: finance approves (Stripe sends the invoice) or rejects a request ----------
  function invoiceNote(invoice) {
    const note = element("span", "invoice-due");
    const due = invoice.due_at ? new Date(invoice.due_at) : null;
    note.append(due && !Number.isNaN(due.getTime()) ? "Due " + dueDate.format(due) + " " : "");
    if (invoice.hosted_invoice_url) {
      const link = element("a", "", "invoice");
      link.href = invoice.hosted_invoice_url;
      link.target = "_blank";
      link.rel = "noopener";
      note.append(link);
    }
    return note;
  }

  async function decideInvoice(id, button, decision) {
    const approving = decision === "invoice";
    const ok = window.confirm(approving
      ? "Approve registration " + id + " to pay by invoice?\n\nStripe sends the invoice to the billing contact; the seats are held and the attendees confirmed now."
      : "Reject registration " + id + "'s request to pay by invoice? It is cancelled.");
    if (!ok) return;
    button.disabled = true;
    say("registrations-message", "");
    say("registrations-error", "");
    try {
      const response = await call("POST", "/admin/registrations/" + encodeURIComponent(id) + "/" + decision);
      const answer = await response.json();
      say("registrations-message", approving ? "Invoice " + answer.invoice_id + " sent." : "Request rejected: cancelled.");
      listRegistrations(false);
    } catch (error) {
      button.disabled = false;
      failed("registrations-error", error);
    }
  }

  async function resend(id, button) {
    button.disabled = true;
    say("registrations-message", "");
    say("registrations-error", "");
    try {
      const response = await call("POST", "/admin/registrations/" + encodeURIComponent(id) + "/resend-confirmation");
      const accepted = await response.json();
      say("registrations-message", typeof accepted.detail === "string" ? accepted.detail : "Confirmations queued.");
    } catch (error) {
      failed("registrations-error", error);
    } finally {
      button.disabled = false;
    }
  }

  // ---------- one registration: its seats, each seat's changes (support), and its history ----------
  const SEAT_WORDS = { active: "Active", refunded: "Refunded", refund_due: "Refund due", not_billed: "Not billed" };
  const SUBSTITUTABLE = new Set(["paid", "invoiced"]);
  let shown = null;  // the registration whose detail is open
  let seatForm = null;  // {mode: "correct" | "substitute", seat}
  let detailGeneration = 0;

  async function openRegistration(id) {
    const mine = ++detailGeneration;
    say("detail-message", "");
    say("detail-error", "");
    try {
      const response = await call("GET", "/admin/registrations/" + encodeURIComponent(id));
      const found = await response.json();
      if (mine !== detailGeneration) return;
      shown = found;
      renderRegistration();
      $("registration-detail").hidden = false;
      $("detail-heading").focus();
    } catch (error) {
      if (mine === detailGeneration) failed("registrations-error", error);
    }
  }

  function closeRegistration() {
    detailGeneration += 1;
    shown = null;
    closeSeatForm();
    $("registration-detail").hidden = true;
  }

  function seatButton(label, action, seat) {
    const button = element("button", "secondary small", label);
    button.type = "button";
    button.dataset.action = action;
    button.append(element("span", "visually-hidden", " for " + seat.first_name + " " + seat.last_name));
    return button;
  }

  function renderRegistration() {
    if (!shown) return;
    say("detail-id", shown.registration_id);
    const payment = shown.payment;
    const money = (payment.amount.amount / 100).toFixed(2) + " " + payment.amount.currency.toUpperCase();
    say("detail-summary", [
      shown.kind === "group" ? "Group" : "Individual",
      LABELS[shown.status] ?? shown.status,
      payment.method === "invoice" ? "pays by invoice" + (payment.invoice?.po_number ? " (PO " + payment.invoice.po_number + ")" : "") : "pays by card",
      money,
    ].join(" · "));
    const changes = may("resend") || may("correct") || may("substitute");
    $("detail-role").hidden = changes;
    const items = shown.seats.map((seat) => {
      const item = element("li", "mail-problem");
      item.dataset.attendeeId = seat.attendee_id;
      item.append(
        element("strong", "", seat.first_name + " " + seat.last_name), " ",
        element("span", "email", seat.email), " ",
        element("span", "status-word", SEAT_WORDS[seat.status] ?? seat.status),
      );
      if (MAIL_PROBLEMS[seat.email_status]) item.append(" ", element("span", "mail-status", MAIL_PROBLEMS[seat.email_status]));
      // Only where the seat has access, and only what the organiser's groups allow.
      const held = seat.status === "active" && seat.access === "active";
      if (held && may("resend")) item.append(" ", seatButton("Resend code", "resend-code", seat));
      if (held && may("correct")) item.append(" ", seatButton("Correct", "correct", seat));
      if (held && shown.kind === "group" && SUBSTITUTABLE.has(shown.status) && may("substitute")) {
        item.append(" ", seatButton("Substitute", "substitute", seat));
      }
      return item;
    });
    for (const former of shown.former_attendees) {
      const item = element("li", "mail-problem former");
      item.append(element("s", "", former.first_name + " " + former.last_name), " ", element("span", "email", former.email), " ",
        element("span", "status-word", "Replaced"));
      items.push(item);
    }
    $("detail-seats").replaceChildren(...items);
    const entries = shown.history.map((entry) => {
      const item = element("li");
      const when = element("time", "", created.format(new Date(entry.at)));
      when.dateTime = entry.at;
      item.dataset.action = entry.action;
      item.append(when, " ", element("code", "", entry.action), " " + (entry.description ?? "") + " — " + entry.actor);
      return item;
    });
    $("detail-history").replaceChildren(...entries);
  }

  function openSeatForm(mode, attendeeId) {
    const seat = shown?.seats.find((s) => s.attendee_id === attendeeId);
    if (!seat) return;
    seatForm = { mode, seat };
    const substituting = mode === "substitute";
    say("seat-form-heading", (substituting ? "Substitute " : "Correct ") + seat.first_name + " " + seat.last_name);
    say("seat-form-hint", substituting
      ? "Another person takes this seat: they get a new access code and the confirmation; " + seat.first_name + "'s code stops working."
      : "A new email gets the confirmation with a new access code; the old code stops working.");
    for (const field of document.querySelectorAll("#seat-form .substitute-only")) field.hidden = !substituting;
    $("seat-first-name").value = substituting ? "" : seat.first_name;
    $("seat-last-name").value = substituting ? "" : seat.last_name;
    $("seat-email").value = substituting ? "" : seat.email;
    $("seat-organization").value = substituting ? seat.organization : "";
    $("seat-job-title").value = "";
    $("seat-submit").textContent = substituting ? "Substitute and send the confirmation" : "Save the correction";
    $("seat-form").hidden = false;
    $("seat-first-name").focus();
  }

  function closeSeatForm() {
    seatForm = null;
    $("seat-form").hidden = true;
  }

  async function submitSeatForm(event) {
    event.preventDefault();
    const button = $("seat-submit");
    if (button.disabled || !seatForm || !shown) return;
    say("detail-message", "");
    say("detail-error", "");
    const value = (id) => $(id).value.trim();
    const { mode, seat } = seatForm;
    let body;
    let path = "/admin/attendees/" + encodeURIComponent(seat.attendee_id);
    if (mode === "substitute") {
      body = { first_name: value("seat-first-name"), last_name: value("seat-last-name"), email: value("seat-email"),
        organization: value("seat-organization") };
      if (value("seat-job-title")) body.job_title = value("seat-job-title");
      path += "/substitute";
    } else {
      body = {};
      for (const [name, id] of [["first_name", "seat-first-name"], ["last_name", "seat-last-name"], ["email", "seat-email"]]) {
        if (value(id) !== seat[name]) body[name] = value(id);
      }
      if (!Object.keys(body).length) {
        say("detail-error", "Change a name or the email first.");
        return;
      }
    }
    button.disabled = true;
    try {
      const response = await call(mode === "substitute" ? "POST" : "PATCH", path, body);
      const answer = await response.json();
      closeSeatForm();
      say("detail-message", mode === "substitute"
        ? answer.first_name + " " + answer.last_name + " now holds the seat; the confirmation with their access code is on its way."
        : answer.first_name + " " + answer.last_name + " corrected" + (answer.confirmation_queued ? "; the confirmation with a new access code is on its way." : "."));
      const message = $("detail-message").textContent;
      await openRegistration(shown.registration_id);
      say("detail-message", message);
      listRegistrations(false);
    } catch (error) {
      failed("detail-error", error);
    } finally {
      button.disabled = false;
    }
  }

  async function resendCode(attendeeId, button) {
    button.disabled = true;
    say("detail-message", "");
    say("detail-error", "");
    try {
      const response = await call("POST", "/admin/attendees/" + encodeURIComponent(attendeeId) + "/resend-confirmation");
      const accepted = await response.json();
      say("detail-message", typeof accepted.detail === "string" ? accepted.detail : "Access code queued.");
    } catch (error) {
      failed("detail-error", error);
    } finally {
      button.disabled = false;
    }
  }

  // ---------- certificates ----------
  async function issueCertificates() {
    const button = $("issue-certificates");
    button.disabled = true;
    $("issue-result").hidden = true;
    say("issue-message", "");
    say("issue-error", "");
    try {
      const response = await call("POST", withEvent("/admin/certificates/issue"));
      const result = await response.json();
      say("issue-eligible", String(result.eligible));
      say("issue-queued", String(result.queued));
      $("issue-result").hidden = false;
      say("issue-message", result.complete
        ? result.eligible + " eligible; " + result.queued + " certificates are being made and sent."
        : "The first " + result.eligible + " eligible counted so far; the certificates are being made and sent to all.");
    } catch (error) {
      failed("issue-error", error);
    } finally {
      button.disabled = false;
    }
  }

  async function reissue(event) {
    event.preventDefault();
    const button = $("reissue-submit");
    if (button.disabled) return;
    say("reissue-message", "");
    say("reissue-error", "");
    const attendee = $("reissue-attendee_id");
    const attendeeId = attendee.value.trim();
    if (!attendeeId) {
      attendee.setAttribute("aria-invalid", "true");
      say("reissue-error", "Enter the attendee id.");
      attendee.focus();
      return;
    }
    attendee.removeAttribute("aria-invalid");
    const correction = {};
    for (const name of ["first_name", "last_name"]) {
      const text = $("reissue-" + name).value.trim();
      if (text) correction[name] = text;
    }
    button.disabled = true;
    try {
      const path = "/admin/attendees/" + encodeURIComponent(attendeeId) + "/certificate/reissue";
      const response = await call("POST", path, Object.keys(correction).length ? correction : undefined);
      const result = await response.json();
      say("reissue-message", "Certificate " + result.revoked + " is revoked; the new certificate " + result.certificate_id + " is being emailed.");
      $("reissue-form").reset();
    } catch (error) {
      failed("reissue-error", error);
    } finally {
      button.disabled = false;
    }
  }

  // ---------- exports ----------
  function filenameOf(response, fallback) {
    const disposition = response.headers.get("Content-Disposition") ?? "";
    const found = /filename="?([A-Za-z0-9._-]+)"?/.exec(disposition);
    return found ? found[1] : fallback;
  }

  async function download(button) {
    const name = button.dataset.export;
    button.disabled = true;
    say("exports-error", "");
    say("exports-message", "Preparing " + name + ".csv…");
    try {
      const path = withEvent("/admin/exports/" + name + ".csv");
      const response = await call("GET", path, undefined, { redirect: "manual" });
      if (response.type === "opaqueredirect") {
        // Over 4 MB the server answers 303 to a presigned S3 link: another origin, which this page may not fetch
        // (connect-src), and a navigation could not carry the access token. Say how to fetch it instead.
        throw new Error(
          name + ".csv is too large to download here: the server hands it out as a temporary link (15 minutes). " +
          "Download it with: curl -L -H \"Authorization: Bearer <your access token>\" -o " + name + ".csv \"" +
          location.origin + path + "\""
        );
      }
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = filenameOf(response, name + ".csv");
      link.hidden = true;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      say("exports-message", link.download + " downloaded.");
    } catch (error) {
      say("exports-message", "");
      failed("exports-error", error);
    } finally {
      button.disabled = false;
    }
  }

  // ---------- personal data ----------
  function personEmail() {
    const input = $("person-email");
    const email = input.value.trim();
    say("person-message", "");
    say("person-error", "");
    if (!email) {
      input.setAttribute("aria-invalid", "true");
      say("person-error", "Enter the person's email.");
      input.focus();
      return null;
    }
    input.removeAttribute("aria-invalid");
    return email;
  }

  async function exportPerson() {
    const email = personEmail();
    if (!email) return;
    try {
      const response = await call("POST", "/admin/people/export", { email });
      const blob = new Blob([JSON.stringify(await response.json(), null, 2)], { type: "application/json" });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "personal-data.json";
      link.click();
      URL.revokeObjectURL(link.href);
      say("person-message", "Their data was downloaded as personal-data.json.");
    } catch (error) {
      failed("person-error", error);
    }
  }

  async function erasePerson() {
    const email = personEmail();
    if (!email) return;
    if (!confirm("Erase everything personal about " + email + "? This cannot be undone.")) return;
    const button = $("person-erase");
    button.disabled = true;
    try {
      const response = await call("POST", "/admin/people/erase", { email });
      const result = await response.json();
      say("person-message", "Erased: attendee " + result.attendee_id + " of registration " + result.registration_id + ".");
      $("person-form").reset();
    } catch (error) {
      failed("person-error", error);
    } finally {
      button.disabled = false;
    }
  }

  // ---------- events ----------
  function eventOf(id) {
    return events.find((event) => event.id === id) ?? null;
  }

  function eventLabel(event) {
    const marks = [];
    if (event.featured) marks.push("featured");
    if (!event.published) marks.push("unpublished");
    return event.name + " (" + event.starts_on + " to " + event.ends_on + ")" + (marks.length ? " — " + marks.join(", ") : "");
  }

  // Lists the events; keeps the selection if it still exists, else the tab's last one, the featured one, the first.
  async function loadEvents() {
    const response = await call("GET", "/admin/events");
    const page = await response.json();
    events = Array.isArray(page.items) ? page.items : [];
    if (!eventOf(selected)) {
      const stored = sessionStorage.getItem(EVENT_KEY);
      selected = (eventOf(stored) ?? events.find((event) => event.featured) ?? events[0] ?? { id: null }).id;
    }
    if (selected) sessionStorage.setItem(EVENT_KEY, selected);
    renderEvents();
  }

  function renderEvents() {
    const select = $("event-select");
    const options = events.map((event) => {
      const option = element("option", "", eventLabel(event));
      option.value = event.id;
      return option;
    });
    if (!options.length) {
      const none = element("option", "", "No events yet");
      none.value = "";
      options.push(none);
    }
    select.replaceChildren(...options);
    select.value = selected ?? "";
    const event = eventOf(selected);
    const state = $("event-state");
    if (!event) {
      state.textContent = events.length ? "" : "There is no event yet: create one with New event.";
    } else {
      state.textContent = (event.published ? "Published." : "Unpublished: attendees cannot see or register for it.") +
        " " + (event.featured ? "Featured: the registration page opens on it." : "Not featured.") +
        " Event id " + event.id + ", version " + event.version + ".";
    }
    $("event-publish").hidden = !event || event.published;
    $("event-unpublish").hidden = !event || !event.published;
    $("event-feature").hidden = !event || event.featured;
    $("event-edit").hidden = !event;
    $("registrations-for").textContent = event ? "For " + event.name + "." : "";
  }

  function discardEdits() {
    return !editor.dirty || window.confirm("Discard the changes you have not saved in the event editor?");
  }

  async function switchEvent() {
    const select = $("event-select");
    if (!select.value || select.value === selected) return;
    if (!discardEdits()) {
      select.value = selected ?? "";
      return;
    }
    selected = select.value;
    sessionStorage.setItem(EVENT_KEY, selected);
    renderEvents();
    forgetEventResults();
    say("events-message", "Showing " + eventOf(selected).name + ".");
    say("events-error", "");
    listRegistrations(false);
    await loadEditor();
  }

  // What was shown for the previous event goes with it.
  function forgetEventResults() {
    $("issue-result").hidden = true;
    for (const id of ["issue-message", "issue-error", "exports-message", "exports-error", "registrations-message"]) say(id, "");
  }

  const ACTION_WORDS = { publish: "Published", unpublish: "Unpublished", feature: "Featured" };

  async function eventAction(action) {
    const event = eventOf(selected);
    if (!event) return;
    say("events-message", "");
    say("events-error", "");
    if (action === "feature" && !event.published) {
      say("events-error", "Publish the event before featuring it.");
      return;
    }
    const buttons = ["event-publish", "event-unpublish", "event-feature"].map($);
    for (const button of buttons) button.disabled = true;
    try {
      await call("POST", "/admin/events/" + encodeURIComponent(event.id) + "/" + action);
      await loadEvents();
      say("events-message", ACTION_WORDS[action] + " “" + event.name + "”." +
        (action === "feature" ? " The registration page and the lists open on it by default." : ""));
      if (editor.mode === "edit" && editor.id === event.id) await refreshEditor();
    } catch (error) {
      failed("events-error", error);
    } finally {
      for (const button of buttons) button.disabled = false;
      const next = buttons.find((button) => !button.hidden);
      if (document.activeElement === document.body && next) next.focus();  // the pressed button was hidden
    }
  }

  // ---------- the event editor ----------
  const ACTIONS = {
    "event.seeded": "Loaded from the packaged file", "event.created": "Created", "event.updated": "Edited",
    "event.published": "Published", "event.unpublished": "Unpublished", "event.featured": "Featured",
  };
  // pydantic's pattern messages name a regular expression; organisers get the rule in words.
  const PATTERN_WORDS = {
    join_url: "Use an https:// link, without spaces or quotes.",
    id: "Use 2 to 63 lowercase letters, digits and hyphens, starting with a letter or digit.",
    sender: "Use one email address, such as conference@example.org.",
  };
  const ALIASES = {
    fee: "fee.amount", "fee.currency": "fee.amount", signatory: "signatory.name",
    "certificate_policy.shared_login": "certificate_policy.shared_login.action",
  };

  function dollars(cents) {
    if (!Number.isInteger(cents)) return "";
    return Math.floor(cents / 100) + "." + String(cents % 100).padStart(2, "0");
  }

  function centsOf(text) {
    const found = /^\$?\s*(\d{1,9})(?:\.(\d{0,2}))?$/.exec(text.replaceAll(",", "").trim());
    if (!found) return null;
    return Number(found[1]) * 100 + Number((found[2] ?? "").padEnd(2, "0"));
  }

  function percentOf(share) {
    return typeof share === "number" ? String(Math.round(share * 10000) / 100) : "";
  }

  function agendaRows() {
    return [...$("agenda-rows").querySelectorAll("fieldset.session")];
  }

  function input(row, key) {
    return row.querySelector('[data-key="' + key + '"]');
  }

  function addRow(entry, after) {
    const row = $("session-template").content.firstElementChild.cloneNode(true);
    rowCount += 1;
    for (const control of row.querySelectorAll("[data-key]")) {
      control.id = "session-" + rowCount + "-" + control.dataset.key;
      row.querySelector('label[data-for="' + control.dataset.key + '"]').htmlFor = control.id;
    }
    input(row, "id").value = entry.id ?? "";
    input(row, "title").value = entry.title ?? "";
    input(row, "kind").value = entry.kind ?? "general_session";
    input(row, "day").value = entry.day ?? "";
    input(row, "starts").value = (entry.starts ?? "").slice(0, 5);
    input(row, "ends").value = (entry.ends ?? "").slice(0, 5);
    input(row, "speakers").value = (entry.speakers ?? []).join("\n");
    input(row, "join_url").value = entry.join_url ?? "";
    if (after) after.after(row);
    else $("agenda-rows").append(row);
    return row;
  }

  function renumber() {
    agendaRows().forEach((row, index) => {
      row.querySelector("legend").textContent = "Session " + (index + 1);
      const remove = row.querySelector('[data-action="remove-session"]');
      remove.textContent = "Remove session " + (index + 1);
    });
  }

  function setValue(id, value) {
    $(id).value = value ?? "";
  }

  function fillForm(doc) {
    base = doc;
    setValue("ev-name", doc.name);
    setValue("ev-timezone", doc.timezone);
    setValue("ev-starts_on", doc.starts_on);
    setValue("ev-ends_on", doc.ends_on);
    setValue("ev-fee", dollars(doc.fee?.amount));
    setValue("ev-sender", doc.sender);
    setValue("ev-coin", doc.coin ?? "individual_registrants");
    setValue("ev-organizer", doc.organizer);
    setValue("ev-organizer_address", doc.organizer_address);
    setValue("ev-organizer_tax_id", doc.organizer_tax_id);
    setValue("ev-signatory-name", doc.signatory?.name);
    setValue("ev-signatory-title", doc.signatory?.title);
    const registration = doc.registration ?? {};
    setValue("ev-checkout_item_name", registration.checkout_item_name);
    setValue("ev-max_group_attendees", registration.max_group_attendees);
    setValue("ev-checkout_expires", registration.checkout_expires_after_minutes);
    setValue("ev-opens_at", registration.opens_at);
    setValue("ev-closes_at", registration.closes_at);
    const policy = doc.certificate_policy ?? {};
    setValue("ev-min_logins", policy.min_individual_logins);
    setValue("ev-min_share", percentOf(policy.min_attendance_share));
    setValue("ev-shared_login", policy.shared_login?.action ?? "warn");
    $("agenda-rows").replaceChildren();
    for (const entry of doc.agenda ?? []) addRow(entry);
    renumber();
    clearProblems();
    editor.dirty = false;
  }

  // The form as the API's document, and the mistakes found before sending it.
  function readForm() {
    const mistakes = [];
    const text = (id) => $(id).value.trim();
    const number = (id) => {
      const value = text(id);
      if (value === "") return null;
      return Number.isFinite(Number(value)) ? Number(value) : value;
    };
    const doc = {
      name: text("ev-name"),
      organizer: text("ev-organizer"),
      timezone: text("ev-timezone"),
      starts_on: text("ev-starts_on"),
      ends_on: text("ev-ends_on"),
      sender: text("ev-sender"),
      coin: $("ev-coin").value,
    };
    if (text("ev-organizer_address")) doc.organizer_address = text("ev-organizer_address");
    if (text("ev-organizer_tax_id")) doc.organizer_tax_id = text("ev-organizer_tax_id");
    if (text("ev-signatory-name") || text("ev-signatory-title")) {
      doc.signatory = { name: text("ev-signatory-name"), title: text("ev-signatory-title") };
    }
    const cents = centsOf(text("ev-fee"));
    if (cents === null) mistakes.push({ control: $("ev-fee"), message: "Enter the fee in dollars, for example 200 or 200.00." });
    doc.fee = { amount: cents ?? 0, currency: base?.fee?.currency ?? "usd" };
    doc.registration = {
      max_group_attendees: number("ev-max_group_attendees"),
      checkout_expires_after_minutes: number("ev-checkout_expires"),
      checkout_item_name: text("ev-checkout_item_name"),
    };
    if (text("ev-opens_at")) doc.registration.opens_at = text("ev-opens_at");
    if (text("ev-closes_at")) doc.registration.closes_at = text("ev-closes_at");
    const percent = Number(text("ev-min_share"));
    if (text("ev-min_share") === "" || !(percent > 0 && percent <= 100)) {
      mistakes.push({ control: $("ev-min_share"), message: "Enter a percentage above 0 and up to 100." });
    }
    doc.certificate_policy = {
      min_individual_logins: number("ev-min_logins"),
      min_attendance_share: Math.round(percent * 100) / 10000,
      hours_rounding_minutes: base?.certificate_policy?.hours_rounding_minutes ?? 15,
      shared_login: { action: $("ev-shared_login").value },
    };
    const rows = agendaRows();
    doc.agenda = rows.map((row) => {
      const entry = {
        id: input(row, "id").value.trim(),
        title: input(row, "title").value.trim(),
        kind: input(row, "kind").value,
        day: input(row, "day").value,
        starts: input(row, "starts").value,
        ends: input(row, "ends").value,
        speakers: input(row, "speakers").value.split("\n").map((name) => name.trim()).filter(Boolean),
      };
      const link = input(row, "join_url").value.trim();
      if (link) entry.join_url = link;
      return entry;
    });
    return { doc, rows, mistakes };
  }

  // ---------- field errors ----------
  function markField(control, message) {
    const note = element("span", "field-error", message);
    errorCount += 1;
    note.id = "field-error-" + errorCount;
    const described = control.getAttribute("aria-describedby") ?? "";
    if (!("baseDescribedby" in control.dataset)) control.dataset.baseDescribedby = described;
    control.setAttribute("aria-describedby", (described + " " + note.id).trim());
    control.setAttribute("aria-invalid", "true");
    control.after(note);
  }

  function clearField(control) {
    if (!("baseDescribedby" in control.dataset)) return;
    for (const id of (control.getAttribute("aria-describedby") ?? "").split(/\s+/)) {
      if (id.startsWith("field-error-")) $(id)?.remove();
    }
    if (control.dataset.baseDescribedby) control.setAttribute("aria-describedby", control.dataset.baseDescribedby);
    else control.removeAttribute("aria-describedby");
    delete control.dataset.baseDescribedby;
    control.removeAttribute("aria-invalid");
  }

  function clearProblems() {
    for (const control of $("event-form").querySelectorAll("[data-base-describedby]")) clearField(control);
    $("editor-error").replaceChildren();
    $("editor-actions").hidden = true;
    $("editor-reload").hidden = true;
    $("editor-force").hidden = true;
  }

  // The control a problem's field path names (`agenda[2].join_url`, `fee.amount`), among the rows that were sent.
  function controlOf(path, rows) {
    const session = /^agenda\[(\d+)\]\.([a-z_]+)/.exec(path);
    if (session) {
      const row = rows[Number(session[1])];
      return row && row.isConnected ? input(row, session[2]) : null;
    }
    let name = path;
    while (name) {
      const control = $("event-form").querySelector('[data-path="' + (ALIASES[name] ?? name) + '"]');
      if (control) return control;
      name = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "";
    }
    return null;
  }

  function wordsFor(path, message) {
    if (!message.startsWith("String should match pattern")) return message;
    const key = path.split(".").pop();
    return PATTERN_WORDS[key] ?? message;
  }

  function placeOf(path) {
    const session = /^agenda\[(\d+)\]/.exec(path);
    if (session) return "Session " + (Number(session[1]) + 1) + path.slice(session[0].length).replace(/^\./, " ").replaceAll("_", " ") + ": ";
    return path && path !== "body" ? path.replaceAll("_", " ") + ": " : "";
  }

  function showFieldErrors(errors, rows, lead) {
    const unplaced = [];
    let first = null;
    for (const error of errors) {
      const path = typeof error.field === "string" ? error.field : "";
      const message = wordsFor(path, String(error.message ?? ""));
      const control = controlOf(path, rows);
      if (control) {
        markField(control, message);
        first = first ?? control;
      } else {
        unplaced.push(placeOf(path) + message);
      }
    }
    const box = $("editor-error");
    const count = errors.length;
    box.replaceChildren(element("p", "", lead + " " + (count === 1 ? "One thing needs" : count + " things need") +
      " attention" + (first ? ", shown next to " + (count === 1 ? "its field." : unplaced.length ? "the fields and listed below." : "the fields.") : ":")));
    if (unplaced.length) {
      const list = element("ul", "error-list");
      for (const text of unplaced) list.append(element("li", "", text));
      box.append(list);
    }
    if (first) first.focus();
  }

  function showProblem(error, rows) {
    if (!(error instanceof Problem)) {
      say("editor-error", error.message);
      return;
    }
    const body = error.body ?? {};
    const detail = typeof body.detail === "string" ? body.detail : "";
    if (error.status === 412 || body.code === "version_conflict") {
      say("editor-error", "This event was changed elsewhere since you loaded version " + editor.version +
        ", so your changes are not saved. Reload the event to see the current version, then make your changes again." +
        (detail ? " (" + detail + ")" : ""));
      $("editor-actions").hidden = false;
      $("editor-reload").hidden = false;
    } else if (error.status === 409 && body.code === "change_refused") {
      const forcing = editor.mode === "edit" && may("force");
      say("editor-error", "Not saved: " + (detail || error.message) +
        (forcing ? " Save anyway applies it regardless; attendees' records may no longer match." :
          editor.mode === "edit" ? " Only an organiser in the admin group can save it anyway." : ""));
      if (forcing) {
        $("editor-actions").hidden = false;
        $("editor-force").hidden = false;
      }
    } else if (error.status === 422 && Array.isArray(body.errors)) {
      showFieldErrors(body.errors, rows, "Not saved.");
    } else {
      say("editor-error", "Not saved: " + error.message);
    }
  }

  // ---------- loading, saving ----------
  function editorHeading() {
    $("editor-heading").textContent = editor.mode === "create" ? "New event" : may("events") ? "Edit event" : "Event details";
  }

  function setMode(mode) {
    editor.mode = mode;
    editorHeading();
    $("event-save").textContent = mode === "create" ? "Create event" : "Save event";
    $("event-copy").hidden = mode === "create";
    $("event-cancel-new").hidden = mode !== "create" || !selected;
    $("history").hidden = mode === "create";
    if (mode === "create") {
      say("editor-meta", "Not saved yet. A new event is created unpublished; publish it when it is ready.");
    }
  }

  function renderDetail(detail) {
    const when = new Date(detail.updated_at);
    say("editor-meta", "Event id " + detail.id + ", version " + detail.version + ", " +
      (detail.published ? "published" : "unpublished") + (detail.featured ? ", featured" : "") + ". Last changed " +
      (Number.isNaN(when.getTime()) ? detail.updated_at : created.format(when)) + " by " + detail.updated_by + ".");
    const rows = [...(detail.history ?? [])].sort((a, b) => b.version - a.version).map((change) => {
      const tr = document.createElement("tr");
      const version = element("th", "", String(change.version));
      version.scope = "row";
      const at = element("time");
      at.dateTime = change.at;
      const moment = new Date(change.at);
      at.textContent = Number.isNaN(moment.getTime()) ? change.at : created.format(moment);
      const what = (ACTIONS[change.action] ?? change.action) + (change.forced ? " (forced)" : "");
      const changed = Array.isArray(change.changed) && change.changed.length ? change.changed.join(", ") : "—";
      tr.append(version, cell(at), cell(change.actor), cell(what), cell(changed));
      return tr;
    });
    $("history-rows").replaceChildren(...rows);
  }

  function adopt(detail, response) {
    editor.id = detail.id;
    editor.version = detail.version;
    editor.etag = response.headers.get("ETag") || '"' + detail.version + '"';
    editor.detail = detail;
    renderDetail(detail);
  }

  // Loads the selected event into the form (what was typed is dropped).
  async function loadEditor() {
    const mine = ++editorGeneration;
    clearProblems();
    say("editor-message", "");
    if (!selected) {
      if (may("events")) startNew(true);
      return false;
    }
    try {
      const response = await call("GET", "/admin/events/" + encodeURIComponent(selected));
      const detail = await response.json();
      if (mine !== editorGeneration) return false;
      setMode("edit");
      fillForm(detail.document);
      adopt(detail, response);
      return true;
    } catch (error) {
      if (mine === editorGeneration) failed("editor-error", error);
      return false;
    }
  }

  // After publishing or featuring: the page's own change only moved the version, so edits in progress are kept and
  // continue from the new version, as long as the document is still the one they started from.
  async function refreshEditor() {
    if (!editor.dirty) return loadEditor();
    const mine = ++editorGeneration;
    try {
      const response = await call("GET", "/admin/events/" + encodeURIComponent(editor.id));
      const detail = await response.json();
      if (mine !== editorGeneration) return false;
      if (JSON.stringify(detail.document) === JSON.stringify(editor.detail.document)) adopt(detail, response);
      return true;
    } catch (error) {
      if (mine === editorGeneration) failed("editor-error", error);
      return false;
    }
  }

  async function save(force) {
    const button = $("event-save");
    if (button.disabled || !may("events") || (force && !may("force"))) return;
    clearProblems();
    say("editor-message", "");
    const { doc, rows, mistakes } = readForm();
    if (mistakes.length) {
      showFieldErrors(mistakes.map((m) => ({ field: m.control.dataset.path, message: m.message })), rows, "Not sent.");
      return;
    }
    button.disabled = true;
    $("editor-force").disabled = true;
    const creating = editor.mode === "create";
    say("editor-message", creating ? "Creating the event…" : "Saving…");
    try {
      if (creating) {
        const response = await call("POST", "/admin/events", doc);
        const saved = await response.json();
        editor.dirty = false;
        selected = saved.event_id;
        sessionStorage.setItem(EVENT_KEY, selected);
        await loadEvents();
        forgetEventResults();
        listRegistrations(false);
        await loadEditor();
        say("editor-message", "Created the event " + saved.event_id + ", unpublished, and selected it.");
        $("editor-heading").focus();
      } else {
        const path = "/admin/events/" + encodeURIComponent(editor.id) + (force ? "?force=true" : "");
        const response = await call("PUT", path, doc, { headers: { "If-Match": editor.etag } });
        const saved = await response.json();
        editor.dirty = false;
        await loadEditor();
        say("editor-message", "Saved: version " + saved.version + (force ? ", forced" : "") + ".");
        loadEvents().catch((error) => failed("events-error", error));
      }
    } catch (error) {
      say("editor-message", "");
      if (!(error instanceof Unauthorised)) showProblem(error, rows);
    } finally {
      button.disabled = false;
      $("editor-force").disabled = false;
    }
  }

  const BLANK = {
    name: "", organizer: "", timezone: "", starts_on: "", ends_on: "", fee: { amount: null, currency: "usd" },
    sender: "", coin: "individual_registrants",
    registration: { max_group_attendees: 50, checkout_expires_after_minutes: 60, checkout_item_name: "" },
    certificate_policy: { min_individual_logins: 1, min_attendance_share: 0.5, hours_rounding_minutes: 15, shared_login: { action: "warn" } },
    agenda: [{ kind: "opening", speakers: [] }],
  };

  // A blank form (or, copying, the form as it is) that Create event sends as a new event.
  function startNew(blank) {
    if (blank && !discardEdits()) return;
    ++editorGeneration;
    clearProblems();
    say("editor-message", "");
    if (blank) {
      fillForm({ ...BLANK, timezone: base?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone });
    }
    setMode("create");
    editor.dirty = !blank;
    say("editor-message", blank ? "A blank event: fill it in, then Create event." :
      "A copy of this event's details: change what differs, then Create event.");
    $("ev-name").focus();
  }

  function removeRow(row) {
    const rows = agendaRows();
    const index = rows.indexOf(row);
    const title = input(row, "title").value.trim();
    row.remove();
    editor.dirty = true;
    renumber();
    const next = rows[index + 1] ?? rows[index - 1];
    (next ? input(next, "id") : $("session-add")).focus();
    say("editor-message", "Session " + (index + 1) + (title ? " (" + title + ")" : "") + " removed; Save to keep the change.");
  }

  function addSession() {
    const rows = agendaRows();
    const last = rows[rows.length - 1];
    const row = addRow({ kind: "general_session", day: last ? input(last, "day").value : $("ev-starts_on").value, speakers: [] });
    editor.dirty = true;
    renumber();
    input(row, "id").focus();
    say("editor-message", "Session " + (rows.length + 1) + " added at the end.");
  }

  function fillTimeZones() {
    try {
      const zones = Intl.supportedValuesOf("timeZone");
      $("timezones").replaceChildren(...zones.map((zone) => {
        const option = document.createElement("option");
        option.value = zone;
        return option;
      }));
    } catch {
      // an older browser: the field is typed in
    }
  }

  // ---------- start ----------
  // The workspace shows once the server has not refused the session (a server fault is shown in the workspace).
  async function open() {
    try {
      await loadEvents();
    } catch (error) {
      if (error instanceof Unauthorised) return false;
      failed("events-error", error);  // the lists still open, on the server's featured event
    }
    const outcome = await listRegistrations(false);
    if (outcome === "unauthorised") return false;
    signedIn();
    loadEditor();
    return true;
  }

  $("status-filter").addEventListener("change", () => listRegistrations(false));
  $("refresh").addEventListener("click", () => listRegistrations(false));
  $("load-more").addEventListener("click", () => listRegistrations(true));
  $("search").addEventListener("input", render);
  $("registrations-rows").addEventListener("click", (event) => {
    const link = event.target.closest('a[data-action="details"]');
    if (link) {
      event.preventDefault();
      openRegistration(link.closest("tr").dataset.registrationId);
      return;
    }
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled) return;
    const id = button.closest("tr").dataset.registrationId;
    if (button.dataset.action === "refund") refund(id, button);
    else if (button.dataset.action === "resend") resend(id, button);
    else if (button.dataset.action === "approve-invoice") decideInvoice(id, button, "invoice");
    else if (button.dataset.action === "reject-invoice") decideInvoice(id, button, "reject");
  });
  $("mail-problems-list").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action='correct']");
    if (button) openCorrection(button.closest("li").dataset.attendeeId);
  });
  $("correct-form").addEventListener("submit", correct);
  $("detail-seats").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled) return;
    const attendeeId = button.closest("li").dataset.attendeeId;
    if (button.dataset.action === "resend-code") resendCode(attendeeId, button);
    else openSeatForm(button.dataset.action, attendeeId);
  });
  $("seat-form").addEventListener("submit", submitSeatForm);
  $("seat-cancel").addEventListener("click", closeSeatForm);
  $("detail-close").addEventListener("click", closeRegistration);
  $("correct-cancel").addEventListener("click", closeCorrection);
  $("issue-certificates").addEventListener("click", issueCertificates);
  $("reissue-form").addEventListener("submit", reissue);
  $("person-export").addEventListener("click", exportPerson);
  $("person-erase").addEventListener("click", erasePerson);
  $("person-form").addEventListener("submit", (event) => event.preventDefault());
  for (const button of document.querySelectorAll("button.export")) {
    button.addEventListener("click", () => download(button));
  }
  $("event-select").addEventListener("change", switchEvent);
  $("event-publish").addEventListener("click", () => eventAction("publish"));
  $("event-unpublish").addEventListener("click", () => eventAction("unpublish"));
  $("event-feature").addEventListener("click", () => eventAction("feature"));
  $("event-new").addEventListener("click", () => startNew(true));
  $("event-edit").addEventListener("click", () => $("editor-heading").focus());
  $("event-copy").addEventListener("click", () => startNew(false));
  $("event-cancel-new").addEventListener("click", () => {
    if (discardEdits()) loadEditor().then((loaded) => loaded && $("editor-heading").focus());
  });
  $("event-form").addEventListener("submit", (event) => {
    event.preventDefault();
    save(false);
  });
  $("editor-force").addEventListener("click", () => save(true));
  $("editor-reload").addEventListener("click", async () => {
    editor.dirty = false;
    if (await loadEditor()) {
      say("editor-message", "Reloaded version " + editor.version + ". Make your changes again, then save.");
      $("editor-heading").focus();
    }
  });
  $("session-add").addEventListener("click", addSession);
  $("agenda-rows").addEventListener("click", (event) => {
    const button = event.target.closest('button[data-action="remove-session"]');
    if (button) removeRow(button.closest("fieldset.session"));
  });
  for (const kind of ["input", "change"]) {
    $("event-form").addEventListener(kind, (event) => {
      editor.dirty = true;
      if (event.target.matches("input, select, textarea")) clearField(event.target);
    });
  }
  fillTimeZones();

  // A reload keeps the tab's session: its tokens are still in sessionStorage (the access token refreshed if due).
  const kept = session();
  if (kept) {
    $("signin-view").hidden = true;
    showWho(kept);
    applyGroups();
    scheduleRefresh(kept);
    open();
  } else {
    showStep("password-form");
    $("signin-email").focus();
  }
})();
