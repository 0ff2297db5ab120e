// Who the shopper is, for every page of the shop (store.js, privacy.html): the same storage keys, the same rules.
// Plain JavaScript, no build step: loaded before the page's own script, it defines window.PersonaShopper.
"use strict";

window.PersonaShopper = (() => {
  const API = window.PERSONA_API || "";
  const KEYS = { anon: "persona.anonymous_id", customer: "persona.customer_id", consent: "persona.consent",
                 cart: "persona.cart", lastAdded: "persona.cart_last_added", visits: "persona.visits",
                 session: "persona.session" };

  const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const pretty = (category) => { const s = String(category || "").replace(/-/g, " "); return s.charAt(0).toUpperCase() + s.slice(1); };
  const store = {
    get(key, fallback = null) {
      try { const raw = localStorage.getItem(key); return raw === null ? fallback : JSON.parse(raw); } catch { return fallback; }
    },
    set(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch { /* private mode: the session still works */ } },
    remove(key) { try { localStorage.removeItem(key); } catch { /* ignore */ } },
  };
  const randomHex = (bytes) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

  async function api(method, path, body, headers = {}) {
    const response = await fetch(API + path, { method, headers: { ...(body ? { "content-type": "application/json" } : {}), ...headers },
                                               body: body && JSON.stringify(body) });
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error((data && data.error && data.error.message) || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // The visitor's id is a bearer secret: the API refuses one that is short or simple enough to guess. Ours carries
  // 128 random bits (32 hex digits); one saved by an older version of the page, shorter, is replaced.
  const VISITOR_ID = /^[A-Za-z0-9._:@-]{32,128}$/;
  function anonymousId() {
    let id = store.get(KEYS.anon);
    if (typeof id !== "string" || !VISITOR_ID.test(id)) {
      id = `anon-${randomHex(16)}`;
      store.set(KEYS.anon, id);
    }
    return id;
  }
  const customerId = () => store.get(KEYS.customer);

  // The header that proves the visitor is this signed-in customer; none for an anonymous id.
  // A session expires (its first part is its expiry, epoch seconds): an expired one proves nothing, so none is sent.
  function sessionFor(id) {
    const session = store.get(KEYS.session);
    const live = session && session.customer_id === id && typeof session.session === "string"
      && typeof session.header === "string" && /^[A-Za-z0-9-]{1,64}$/.test(session.header)
      && Number(session.session.split(".")[0]) * 1000 > Date.now();
    return live ? { [session.header]: session.session } : {};
  }

  return { API, KEYS, esc, pretty, store, randomHex, api, anonymousId, customerId, sessionFor };
})();
