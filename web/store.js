// Persona Outdoor: the demo storefront. Plain JavaScript, no build step, no framework.
// Every call goes to window.PERSONA_API (config.js): the same origin locally, the deployed API in AWS.
"use strict";

(() => {
  const POLICY_VERSION = "2026-11";
  const PURPOSES = ["analytics", "personalization", "email_marketing"];
  const HERO_EXPERIMENT = "hero-banner";
  // Storage, the API call and who the shopper is: web/shopper.js (the privacy centre uses the same).
  const { API, KEYS, esc, pretty, store, randomHex, api, anonymousId, customerId, sessionFor } = window.PersonaShopper;
  // The retailer's sign-in, which signs a session for a signed-in customer (a customer's consents need it).
  // Locally the runtime plays it (config.js); a deployment of this demo shop has none.
  const SIGN_IN = window.PERSONA_STOREFRONT_SIGN_IN || "";
  // The retailer's order system. Only the retailer's backend may send purchases with their value (a purchase the
  // shop tracks itself is recorded as a page view), so the checkout hands the order to it and it tells Persona.
  // Locally the runtime plays it next to the sign-in (POST /local/orders); a deployment of this demo shop has none.
  const ORDERS = window.PERSONA_STOREFRONT_ORDERS || (SIGN_IN.startsWith("/local/") ? "/local/orders" : "");

  // ------------------------------------------------------------------ small helpers
  const $ = (id) => document.getElementById(id);

  function locale() {
    // navigator-derived, shaped as the API wants it ("de-DE", or a language alone); fallback en-GB
    for (const tag of [...(navigator.languages || []), navigator.language]) {
      if (!tag) continue;
      const parts = String(tag).split(/[-_]/);
      const language = parts[0].toLowerCase();
      const region = parts.slice(1).find((p) => /^[a-z]{2}$/i.test(p));
      if (/^[a-z]{2,3}$/.test(language)) return region ? `${language}-${region.toUpperCase()}` : language;
    }
    return "en-GB";
  }
  function device() {
    const ua = navigator.userAgent || "";
    if (/iPad|Tablet/i.test(ua)) return "tablet";
    if (/Mobi|Android|iPhone/i.test(ua) || window.matchMedia("(max-width: 600px)").matches) return "mobile";
    return "desktop";
  }
  function timeOfDay() {
    const h = new Date().getHours();
    return h < 5 ? "night" : h < 12 ? "morning" : h < 17 ? "afternoon" : h < 22 ? "evening" : "night";
  }
  const money = (amount, currency = "EUR") => {
    try { return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(amount); } catch { return `${Number(amount).toFixed(2)} ${currency}`; }
  };

  const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString();

  let toastTimer;
  function announce(text) {
    const toast = $("toast");
    toast.textContent = text;
    toast.classList.add("shown");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => toast.classList.remove("shown"), 4000);
  }

  // ------------------------------------------------------------------ who is visiting
  const subject = () => customerId() || anonymousId();
  // The signed-in customer's session header, {} without one: the API acts for a customer id only with it.
  const customerProof = () => (customerId() ? sessionFor(customerId()) : {});
  const provenCustomer = () => (Object.keys(customerProof()).length ? customerId() : null);
  // A user_id counts only with the customer's session (sent along): without one the visitor is served as who they are.
  const who = () => ({ anonymous_id: anonymousId(), user_id: provenCustomer() || undefined });

  function visitor() {  // "new" on the first visit, "returning" on later sessions
    let visits = Number(store.get(KEYS.visits, 0)) || 0;
    try {
      if (!sessionStorage.getItem(KEYS.visits)) { visits += 1; store.set(KEYS.visits, visits); sessionStorage.setItem(KEYS.visits, "1"); }
    } catch { /* ignore */ }
    return visits > 1 ? "returning" : "new";
  }

  // ------------------------------------------------------------------ consent
  const consent = () => {
    const saved = store.get(KEYS.consent);
    return saved && saved.policy_version === POLICY_VERSION && saved.purposes ? saved : null;
  };
  const allowed = (purpose) => Boolean(consent() && consent().purposes[purpose]);
  // Browsing is tracked only with analytics or personalization consent; an order and a login are
  // part of the service itself and are always recorded.
  const mayTrack = (type) => type === "purchase" || type === "identify" || allowed("analytics") || allowed("personalization");

  async function sendConsent(saved, to = subject()) {
    try {
      try {
        await api("PUT", `/v1/consents/${encodeURIComponent(to)}`, { purposes: saved.purposes, source: "banner", policy_version: POLICY_VERSION },
                  sessionFor(to));
      } catch (error) {
        // A customer without a session (no retailer sign-in here): the choice holds for this device's id
        // and carries over to the customer for whatever they have not decided themselves.
        if (error.status !== 401 || to === anonymousId()) throw error;
        to = anonymousId();
        await api("PUT", `/v1/consents/${encodeURIComponent(to)}`, { purposes: saved.purposes, source: "banner", policy_version: POLICY_VERSION });
      }
      store.set(KEYS.consent, { ...saved, subject: to, synced: true });
      return true;
    } catch {
      store.set(KEYS.consent, { ...saved, subject: to, synced: false });  // sent again on the next page load
      return false;
    }
  }

  function showBanner(show) {
    const banner = $("consent");
    banner.hidden = !show;
    document.body.classList.toggle("with-consent", show);
    if (show) {
      const saved = consent();
      PURPOSES.forEach((p) => { $(`purpose-${p}`).checked = Boolean(saved && saved.purposes[p]); });
    }
  }

  async function choose(purposes) {
    const saved = { purposes, policy_version: POLICY_VERSION, at: new Date().toISOString() };
    store.set(KEYS.consent, { ...saved, subject: subject(), synced: false });
    showBanner(false);
    const ok = await sendConsent(saved);
    announce(ok ? "Your privacy choices are saved." : "Your choices are saved on this device; we will send them when the shop is reachable.");
    render();  // what is shown may depend on the choice
  }

  $("consent-accept").addEventListener("click", () => choose(Object.fromEntries(PURPOSES.map((p) => [p, true]))));
  $("consent-reject").addEventListener("click", () => choose(Object.fromEntries(PURPOSES.map((p) => [p, false]))));
  $("consent-save").addEventListener("click", () => choose(Object.fromEntries(PURPOSES.map((p) => [p, $(`purpose-${p}`).checked]))));
  $("cookie-settings").addEventListener("click", () => {
    showBanner(true);
    $("consent-details").open = true;
    $("consent-title").setAttribute("tabindex", "-1");
    $("consent-title").focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("consent").hidden && consent()) showBanner(false);  // only once a choice exists
  });

  // ------------------------------------------------------------------ events
  function track(type, fields = {}) {
    if (!mayTrack(type)) return Promise.resolve(null);
    const { traffic_source, ...rest } = fields;
    const event = {
      type, event_id: randomHex(12), anonymous_id: anonymousId(), timestamp: new Date().toISOString(), ...rest,
      context: { device: device(), locale: locale(), page: (location.pathname + location.hash).slice(0, 2048) },
    };
    // An event names the customer only with their session (it goes along); without one it is the visitor's alone,
    // and a login that cannot be proven links nothing.
    const proof = customerProof();
    if (provenCustomer()) event.customer_id = provenCustomer();
    else if (type === "identify") return Promise.resolve(null);
    if (traffic_source) event.context.traffic_source = traffic_source;
    Object.keys(event).forEach((k) => (event[k] === undefined || event[k] === null) && delete event[k]);
    return fetch(API + "/v1/events", {
      method: "POST", headers: { "content-type": "application/json", ...proof }, body: JSON.stringify({ events: [event] }), keepalive: true,
    }).catch(() => null);
  }

  // ------------------------------------------------------------------ account
  function renderAccount() {
    const customer = customerId();
    $("login-toggle").hidden = Boolean(customer);
    $("signed-in").hidden = !customer;
    $("customer-name").textContent = customer || "";
    $("visitor-id").textContent = anonymousId();
    if (customer) { $("login-panel").hidden = true; $("login-toggle").setAttribute("aria-expanded", "false"); }
  }
  $("login-toggle").addEventListener("click", () => {
    const open = $("login-panel").hidden;
    $("login-panel").hidden = !open;
    $("login-toggle").setAttribute("aria-expanded", String(open));
    if (open) $("login-id").focus();
  });
  $("login-panel").addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = $("login-id").value.trim();
    if (!/^[A-Za-z0-9._:@-]{1,128}$/.test(id)) { $("login-id").setCustomValidity("Letters, digits and . _ : @ - only"); $("login-id").reportValidity(); return; }
    store.set(KEYS.customer, id);
    store.remove(KEYS.session);
    $("login-id").value = "";
    renderAccount();
    if (SIGN_IN) {
      await api("POST", SIGN_IN, { customer_id: id }).then((session) => store.set(KEYS.session, session), () => null);
    }
    // Both ids, with the session that proves the customer: the profiles merge, the visitor's history follows the customer.
    await track("identify");
    announce(`Signed in as ${id}.`);
    $("logout").focus();
    render();
  });
  $("login-id").addEventListener("input", () => $("login-id").setCustomValidity(""));
  $("logout").addEventListener("click", () => {
    store.remove(KEYS.customer);
    store.remove(KEYS.session);
    // A fresh anonymous id: whoever uses this device next does not see the customer's recommendations.
    store.remove(KEYS.anon);
    const saved = consent();
    if (saved) sendConsent(saved, anonymousId());  // the device's banner choice holds for the new id
    renderAccount();
    announce("Signed out.");
    $("login-toggle").focus();
    render();
  });

  // ------------------------------------------------------------------ cart
  const cart = () => store.get(KEYS.cart, []);
  function saveCart(lines) {
    store.set(KEYS.cart, lines);
    const count = lines.reduce((n, l) => n + l.quantity, 0);
    $("cart-count").textContent = String(count);
    $("cart-items-word").textContent = count === 1 ? " item" : " items";
  }
  function addToCart(product) {
    const lines = cart();
    const line = lines.find((l) => l.item_id === product.item_id);
    if (line) line.quantity += 1;
    else lines.push({ item_id: product.item_id, title: product.title, brand: product.brand, category: product.category,
                      price: product.price, currency: product.currency || "EUR", quantity: 1 });
    saveCart(lines);
    store.set(KEYS.lastAdded, product.item_id);
    track("add_to_cart", { item_id: product.item_id, category: product.category, brand: product.brand,
                           value: product.price, currency: product.currency || "EUR" });
    announce(`Added ${product.title} to your cart.`);
  }

  // ------------------------------------------------------------------ product cards and recommendations
  const FALLBACK_WORDS = {
    unknown_visitor: "you have not made a privacy choice yet",
    no_consent: "you have not allowed personalization",
    restricted: "you asked us to restrict the use of your data",
    objection: "you objected to profiling",
    no_history: "we do not know what you like yet; have a look around",
    no_model: "recommendations are not set up yet",
    scoring_error: "personal recommendations failed this time",
    over_budget: "personal recommendations took too long this time",
    holdout: "you are in the comparison group that sees the standard shop",
  };
  const THUMB_HUES = { "running-shoes": 12, "rain-jackets": 205, socks: 280, "running-apparel": 330, "hiking-boots": 30, backpacks: 150,
                       "water-bottles": 190, tents: 95, "sleeping-bags": 240, cycling: 0, "sports-nutrition": 45, yoga: 300, health: 170, lingerie: 345 };
  const thumb = (category) => {
    const hue = THUMB_HUES[category] ?? 220;
    return `<div class="thumb" aria-hidden="true" style="--hue:${hue}"><svg viewBox="0 0 120 80" focusable="false">
      <path d="M0 80 L38 34 L58 56 L80 26 L120 80 Z" fill="hsl(${hue} 35% 38%)"/><circle cx="96" cy="20" r="9" fill="hsl(${hue} 60% 88%)"/></svg>
      <span>${esc(pretty(category))}</span></div>`;
  };
  let uid = 0;
  function card(item, { reason = true, from } = {}) {
    const id = `why-${++uid}`;
    const href = `#/product/${encodeURIComponent(item.item_id)}${from ? `?from=${from}` : ""}`;
    return `<li class="card" data-item-id="${esc(item.item_id)}"${item.reason ? ` data-reason="${esc(item.reason.code)}"` : ""}>
      ${thumb(item.category)}
      <h3 class="card-title"><a href="${href}">${esc(item.title)}</a></h3>
      <p class="meta">${esc(item.brand)} · ${esc(pretty(item.category))}</p>
      <p class="price">${esc(money(item.price, item.currency))}${item.stock === 0 ? ' <span class="out">Sold out</span>' : ""}</p>
      ${reason && item.reason ? `<button type="button" class="why" aria-expanded="false" aria-controls="${id}">Why am I seeing this?</button>
      <p class="why-text" id="${id}" hidden>${esc(item.reason.text)}</p>` : ""}
    </li>`;
  }
  document.addEventListener("click", (event) => {  // every "Why am I seeing this?" is a disclosure button
    const button = event.target.closest("button.why");
    if (!button) return;
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    $(button.getAttribute("aria-controls")).hidden = !open;
  });

  // Fills `section` (with a .note and a ul.grid) from GET /v1/recommendations.
  async function recommendations(section, params, token, attempt = 0) {
    const list = section.querySelector("ul.grid");
    const note = section.querySelector(".note");
    section.dataset.state = "loading";
    try {
      const answer = await api("GET", `/v1/recommendations?${query({ ...params, ...who(), device: device(), locale: locale(), time_of_day: timeOfDay() })}`,
                               undefined, customerProof());
      if (token !== renderToken) return null;
      list.innerHTML = answer.items.length ? answer.items.map((i) => card(i, { from: "recommendation" })).join("") : '<li class="empty">Nothing to suggest here yet.</li>';
      section.dataset.personalized = String(answer.personalized);
      section.dataset.fallback = answer.fallback_reason || "";
      if (note) {
        note.hidden = answer.personalized;
        if (!answer.personalized) {
          note.innerHTML = `<strong>Not personalized:</strong> ${esc(FALLBACK_WORDS[answer.fallback_reason] || "no personal data was used")}.
            ${["unknown_visitor", "no_consent"].includes(answer.fallback_reason) ? '<button type="button" class="linklike" data-open-consent>Change your privacy choices</button>' : ""}`;
        }
      }
      section.dataset.state = "loaded";
      // A choice just made reaches the recommendation service through a queue: ask again shortly.
      if (answer.fallback_reason === "unknown_visitor" && consent() && attempt < 3) {
        if (note) note.innerHTML = "<strong>Not personalized yet:</strong> your privacy choice is being applied.";
        setTimeout(() => { if (token === renderToken) recommendations(section, params, token, attempt + 1); }, 1500);
      }
      return answer;
    } catch (error) {
      if (token !== renderToken) return null;
      list.innerHTML = `<li class="empty">Recommendations are unavailable right now (${esc(error.message)}).</li>`;
      section.dataset.state = "error";
      return null;
    }
  }
  document.addEventListener("click", (event) => { if (event.target.closest("[data-open-consent]")) $("cookie-settings").click(); });

  const recSection = (id, title, intro = "") => `<section class="recs" id="${id}" aria-labelledby="${id}-title" data-state="loading">
      <h2 id="${id}-title">${esc(title)}</h2>${intro}
      <p class="note" role="status" hidden></p>
      <ul class="grid"><li class="empty">Loading…</li></ul>
    </section>`;

  // ------------------------------------------------------------------ views
  const HEROES = {
    "trail-season": {
      title: "Trail season is here",
      text: "Grippy trail shoes, light running vests and soft flasks for the mountain paths. New in for autumn.",
      cta: ["Shop trail running", "#/catalog/running-shoes"],
      art: "A runner's trail winding up between green and grey mountains under an orange evening sky",
      svg: `<defs><linearGradient id="sky-t" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#f6a04d"/><stop offset="1" stop-color="#fde3c0"/></linearGradient></defs>
        <rect width="400" height="220" fill="url(#sky-t)"/><circle cx="300" cy="70" r="30" fill="#fff4dc"/>
        <path d="M0 220 L90 90 L150 150 L230 60 L330 170 L400 120 L400 220 Z" fill="#5d6b73"/>
        <path d="M0 220 L70 150 L140 190 L220 130 L300 200 L400 160 L400 220 Z" fill="#2f6b45"/>
        <path d="M180 220 C200 200 150 190 190 175 C230 160 200 150 235 140" stroke="#e9d2a8" stroke-width="7" fill="none" stroke-linecap="round"/>`,
    },
    control: {
      title: "Gear for every adventure",
      text: "Outdoor and sports essentials from Stride, Nordwand, Fjellmark and more. Free returns for 30 days.",
      cta: ["Browse the shop", "#/catalog"],
      art: "Soft blue hills under a pale sky",
      svg: `<rect width="400" height="220" fill="#dcebf7"/><circle cx="80" cy="60" r="26" fill="#ffffff"/>
        <path d="M0 220 L0 150 C80 110 160 170 240 130 C300 100 360 120 400 110 L400 220 Z" fill="#7fa7c9"/>
        <path d="M0 220 L0 185 C90 150 200 200 290 170 C340 155 380 165 400 160 L400 220 Z" fill="#3f6e96"/>`,
    },
  };
  const EXCLUDED_WORDS = { holdout: "global holdout", no_consent: "no analytics consent", unknown_visitor: "no privacy choice yet",
                           restricted: "processing restricted" };

  async function heroAssignment() {
    try {
      const { anonymous_id, user_id } = who();
      const answer = await api("POST", "/v1/assignments", { anonymous_id, ...(user_id ? { user_id } : {}),
                                                            context: { device: device(), locale: locale(), visitor: visitor() } },
                               customerProof());
      const assigned = answer.assignments.find((a) => a.experiment === HERO_EXPERIMENT);
      return { variant: assigned ? assigned.variant : null, excluded: answer.excluded_reason };
    } catch {
      return { variant: null, excluded: null, error: true };
    }
  }
  function heroHtml({ variant, excluded, error }) {
    const hero = HEROES[variant] || HEROES.control;  // control, no assignment or an unknown variant: the generic banner
    const tag = variant ? `variant <strong>${esc(variant)}</strong>`
      : error ? "default banner (assignment unavailable)"
      : `default banner (not in the test: ${esc(EXCLUDED_WORDS[excluded] || "not eligible")})`;
    return `<section class="hero ${variant === "trail-season" ? "hero-trail" : "hero-generic"}" id="hero" aria-labelledby="hero-title"
        data-experiment="${HERO_EXPERIMENT}" data-variant="${esc(variant || "none")}">
      <div class="hero-copy">
        <h1 id="hero-title" tabindex="-1">${esc(hero.title)}</h1>
        <p>${esc(hero.text)}</p>
        <a class="btn btn-hero" href="${hero.cta[1]}">${esc(hero.cta[0])}</a>
      </div>
      <svg class="hero-art" viewBox="0 0 400 220" role="img" aria-label="${esc(hero.art)}" preserveAspectRatio="xMidYMid slice">${hero.svg}</svg>
    </section>
    <p class="experiment-tag" id="experiment-tag">Demo · experiment ${HERO_EXPERIMENT}: ${tag}</p>`;
  }

  async function viewHome(view, token) {
    view.innerHTML = `<div id="hero-slot" class="hero-slot"></div>
      ${recSection("home-recs", "Recommended for you")}`;
    const showHero = async (attempt) => {
      const assignment = await heroAssignment();
      if (token !== renderToken) return;
      $("hero-slot").innerHTML = heroHtml(assignment);
      // A choice just made reaches the experiments service through a queue: ask again shortly.
      if (!assignment.variant && ["unknown_visitor", "no_consent"].includes(assignment.excluded) && allowed("analytics") && attempt < 3) {
        setTimeout(() => { if (token === renderToken) showHero(attempt + 1); }, 1500);
      }
    };
    await Promise.all([showHero(0), recommendations($("home-recs"), { placement: "home", n: 8 }, token)]);
  }

  function productGrid(items) {
    return items.length ? `<ul class="grid">${items.map((i) => card(i, { reason: false })).join("")}</ul>` : '<p class="empty">No products found.</p>';
  }

  async function viewCatalog(view, token, { category, q }) {
    const title = q ? `Search results for “${q}”` : category ? pretty(category) : "All products";
    view.innerHTML = `<h1 tabindex="-1">${esc(title)}</h1><p class="meta" id="catalog-count">Loading…</p><div id="catalog-list" data-state="loading"></div>`;
    if (q) track("search", { query: q.slice(0, 256) });
    try {
      const page = await api("GET", `/v1/catalog?${query({ q, category, limit: 60 })}`);
      if (token !== renderToken) return;
      $("catalog-count").textContent = `${page.total} product${page.total === 1 ? "" : "s"}${page.total > page.items.length ? ` (showing ${page.items.length})` : ""}`;
      $("catalog-list").innerHTML = productGrid(page.items);
      $("catalog-list").dataset.state = "loaded";
    } catch (error) {
      if (token === renderToken) $("catalog-count").textContent = `The catalog is unavailable right now (${error.message}).`;
    }
  }

  async function viewProduct(view, token, itemId, from) {
    let product;
    try {
      product = await api("GET", `/v1/catalog/${encodeURIComponent(itemId)}`);
    } catch (error) {
      view.innerHTML = `<h1 tabindex="-1">Product not found</h1><p>${esc(error.message)}</p><p><a href="#/catalog">Browse all products</a></p>`;
      return;
    }
    if (token !== renderToken) return;
    document.title = `${product.title} — Persona Outdoor`;
    const inStock = product.stock > 0;
    view.innerHTML = `<nav class="breadcrumbs" aria-label="Breadcrumb"><ol>
        <li><a href="#/">Home</a></li><li><a href="#/catalog/${encodeURIComponent(product.category)}">${esc(pretty(product.category))}</a></li>
        <li><span aria-current="page">${esc(product.title)}</span></li></ol></nav>
      <article class="product" data-item-id="${esc(product.item_id)}">
        ${thumb(product.category)}
        <div class="product-info">
          <h1 tabindex="-1">${esc(product.title)}</h1>
          <p class="brand">by <a href="#/search?q=${encodeURIComponent(product.brand)}">${esc(product.brand)}</a> · ${esc(pretty(product.category))}</p>
          <p class="price price-big">${esc(money(product.price, product.currency))}</p>
          <p class="stock ${inStock ? "in" : "out"}">${inStock ? `In stock (${product.stock} left)` : "Sold out"}</p>
          <button type="button" class="btn" id="add-to-cart" ${inStock ? "" : "disabled"}>Add to cart</button>
          <a class="go-cart" href="#/cart">Go to cart</a>
        </div>
      </article>
      ${recSection("similar", "Similar items")}
      ${recSection("same-brand", `More from ${product.brand}`)}`;
    $("add-to-cart").addEventListener("click", () => addToCart(product));
    track("product_view", { item_id: product.item_id, category: product.category, brand: product.brand,
                            traffic_source: from === "recommendation" ? "recommendation" : undefined });
    await Promise.all([
      recommendations($("similar"), { placement: "product", item_id: product.item_id, n: 4 }, token),
      recommendations($("same-brand"), { placement: "product", item_id: product.item_id, same_brand: true, n: 4 }, token),
    ]);
  }

  // The checkout: the order goes to the retailer's order system (ORDERS), which sends one purchase per line, with
  // its value, from the backend. The order id makes a resent order the same purchases (counted once).
  async function placeOrder(lines) {
    if (!ORDERS) {  // no order system here: tracked by the shop, the purchases are recorded as page views, without value
      await Promise.all(lines.map((line) => track("purchase", line)));
      return;
    }
    const customer = provenCustomer();
    const order = { order_id: `o-${randomHex(12)}`, anonymous_id: anonymousId(), ...(customer ? { customer_id: customer } : {}), lines };
    for (let attempt = 1; ; attempt++) {
      try {
        return await api("POST", ORDERS, order, customerProof());
      } catch (error) {
        if (attempt >= 3 || (error.status && error.status < 500)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }

  let lastOrder = null;
  async function viewCart(view, token) {
    const lines = cart();
    const total = lines.reduce((sum, l) => sum + l.price * l.quantity, 0);
    const thanks = lastOrder ? `<p class="thanks" role="status">Thank you! Your order of ${lastOrder.count} item${lastOrder.count === 1 ? "" : "s"}
      (${esc(money(lastOrder.total))}) is placed.</p>` : "";
    lastOrder = null;
    if (!lines.length) {
      view.innerHTML = `<h1 tabindex="-1">Your cart</h1>${thanks}<p class="empty" id="cart-empty">Your cart is empty. <a href="#/catalog">Browse the shop</a>.</p>`;
      return;
    }
    view.innerHTML = `<h1 tabindex="-1">Your cart</h1>
      <ul class="cart-lines" id="cart-lines">${lines.map((l) => `<li class="cart-line" data-item-id="${esc(l.item_id)}">
          <a class="cart-title" href="#/product/${encodeURIComponent(l.item_id)}">${esc(l.title)}</a>
          <span class="cart-qty">${l.quantity} × ${esc(money(l.price, l.currency))}</span>
          <span class="cart-sum">${esc(money(l.price * l.quantity, l.currency))}</span>
          <button type="button" class="btn btn-ghost btn-small" data-remove="${esc(l.item_id)}" aria-label="Remove ${esc(l.title)}">Remove</button>
        </li>`).join("")}</ul>
      <p class="cart-total">Total <strong id="cart-total">${esc(money(total))}</strong></p>
      <button type="button" class="btn" id="checkout">Checkout</button>
      ${recSection("cross-sell", "Complete your kit")}`;
    view.querySelectorAll("[data-remove]").forEach((button) => button.addEventListener("click", () => {
      const removed = cart().find((l) => l.item_id === button.dataset.remove);
      saveCart(cart().filter((l) => l.item_id !== button.dataset.remove));
      if (removed) track("remove_from_cart", { item_id: removed.item_id, category: removed.category, brand: removed.brand });
      render();
    }));
    $("checkout").addEventListener("click", async () => {
      $("checkout").disabled = true;
      const bought = cart();
      try {
        await placeOrder(bought.map((l) => ({ item_id: l.item_id, category: l.category, brand: l.brand,
                                             value: Math.round(l.price * l.quantity * 100) / 100, currency: l.currency || "EUR" })));
      } catch (error) {
        $("checkout").disabled = false;
        announce(`Your order could not be placed (${error.message}). Please try again.`);
        return;
      }
      lastOrder = { count: bought.reduce((n, l) => n + l.quantity, 0), total: bought.reduce((s, l) => s + l.price * l.quantity, 0) };
      saveCart([]);
      store.remove(KEYS.lastAdded);
      render();
    });
    const last = store.get(KEYS.lastAdded) || lines[lines.length - 1].item_id;
    await recommendations($("cross-sell"), { placement: "cart", item_id: last, n: 4 }, token);
  }

  // ------------------------------------------------------------------ routing (#/..., no build step)
  let renderToken = 0;
  let firstRender = true;
  async function render() {
    const hash = location.hash.startsWith("#/") ? location.hash : "#/";
    if (!firstRender && !location.hash.startsWith("#/") && location.hash) return;  // an in-page anchor, not a route
    const [path, search] = hash.slice(1).split("?");
    const params = new URLSearchParams(search || "");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    const token = ++renderToken;
    const view = $("view");
    document.title = "Persona Outdoor — demo storefront";
    view.dataset.route = parts[0] || "home";
    view.dataset.ready = "false";
    if (parts[0] !== "search") $("search-q").value = "";
    document.querySelectorAll(".categories a").forEach((a) => a.removeAttribute("aria-current"));
    const current = document.querySelector(`.categories a[href="${CSS.escape(hash.split("?")[0])}"]`);
    if (current) current.setAttribute("aria-current", "page");
    if (!firstRender) window.scrollTo(0, 0);
    track("page_view");
    try {
      if (!parts.length) await viewHome(view, token);
      else if (parts[0] === "catalog") await viewCatalog(view, token, { category: parts[1] });
      else if (parts[0] === "search") { $("search-q").value = params.get("q") || ""; await viewCatalog(view, token, { q: params.get("q") || "" }); }
      else if (parts[0] === "product" && parts[1]) await viewProduct(view, token, parts[1], params.get("from"));
      else if (parts[0] === "cart") await viewCart(view, token);
      else view.innerHTML = '<h1 tabindex="-1">Page not found</h1><p><a href="#/">Back to the shop</a></p>';
    } finally {
      if (token === renderToken) {
        view.dataset.ready = "true";
        if (!firstRender) { const h1 = view.querySelector("h1"); if (h1) h1.focus({ preventScroll: true }); }
        firstRender = false;
      }
    }
  }
  window.addEventListener("hashchange", render);
  document.querySelector(".skip-link").addEventListener("click", (event) => {  // not a route: focus the content
    event.preventDefault();
    $("main").focus();
  });

  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const q = $("search-q").value.trim();
    location.hash = q ? `#/search?q=${encodeURIComponent(q)}` : "#/catalog";
  });

  async function loadCategories() {
    try {
      const page = await api("GET", "/v1/catalog?limit=1");
      $("categories").innerHTML = `<li><a href="#/catalog">All products</a></li>` +
        page.categories.map((c) => `<li><a href="#/catalog/${encodeURIComponent(c)}">${esc(pretty(c))}</a></li>`).join("");
      const current = document.querySelector(`.categories a[href="${CSS.escape((location.hash || "#/").split("?")[0])}"]`);
      if (current) current.setAttribute("aria-current", "page");
    } catch { /* the nav keeps "All products" */ }
  }

  // ------------------------------------------------------------------ start
  renderAccount();
  saveCart(cart());
  visitor();
  const saved = store.get(KEYS.consent);
  if (!consent()) showBanner(true);  // first visit, or a new policy version
  else if (saved.synced === false) sendConsent(saved, saved.subject || subject());
  loadCategories();
  render();
})();
