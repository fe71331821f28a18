// ACORN reviewer's page: the queue, answers per line and in bulk, the kill switch, the export.
// Everything the channel sent is shown with textContent, never as HTML.
"use strict";

const API = new URL("../api/", location.href);
const state = { me: null, page: 1, sort: "created_at", desc: true, selected: new Set(), items: [] };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

async function call(path, options = {}) {
  const response = await fetch(new URL(path, API), {
    credentials: "same-origin",
    headers: options.body ? { "Content-Type": "application/json" } : {},
    ...options,
  });
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : {};
  if (!response.ok) {
    const error = new Error(describeError(response.status, body));
    error.status = response.status;
    error.body = body;
    throw error;
  }
  return body;
}

function describeError(status, body) {
  if (status === 401) return "Your Airflow login has expired: reload the page and log in again.";
  if (Array.isArray(body.detail)) return body.detail.map((d) => `${d.loc.slice(1).join(".")}: ${d.msg}`).join("; ");
  return body.detail || `HTTP ${status}`;
}

function say(text, kind = "ok") {
  const m = document.getElementById("message");
  m.textContent = text;
  m.className = kind;
}

function filtersFromUrl() {
  const params = new URLSearchParams(location.search);
  const form = document.getElementById("filters");
  for (const [k, v] of params) {
    if (form.elements[k]) form.elements[k].value = v;
    if (k === "sort") state.sort = v;
    if (k === "desc") state.desc = v !== "false";
    if (k === "page") state.page = Number(v) || 1;
  }
}

function query() {
  const form = new FormData(document.getElementById("filters"));
  const params = new URLSearchParams();
  for (const [k, v] of form) if (String(v).trim() !== "") params.set(k, String(v).trim());
  params.set("sort", state.sort);
  params.set("desc", String(state.desc));
  params.set("page", String(state.page));
  params.set("page_size", document.getElementById("page-size").value);
  return params;
}

async function loadMe() {
  state.me = await call("me");
  document.getElementById("who").textContent =
    `${state.me.name}` + (state.me.can_answer ? "" : " (read only)");
  for (const rc of document.querySelectorAll(".rc")) rc.textContent = state.me.reporting_currency;
  showSwitch(state.me.switch);
}

function showSwitch(sw) {
  const banner = document.getElementById("switch-banner");
  banner.hidden = !sw.paused;
  banner.textContent = sw.paused
    ? `Automatic refunds are PAUSED: every approval goes to review. Paused by ${sw.changed_by} at ` +
      `${when(sw.changed_at)}: ${sw.reason}`
    : "";
  document.getElementById("switch-state").textContent = sw.paused
    ? "On: automatic approvals are paused."
    : "Off: the policy approves automatically." + (sw.changed_by ? ` Last change by ${sw.changed_by}, ${when(sw.changed_at)}.` : "");
  const button = document.getElementById("switch-toggle");
  button.textContent = sw.paused ? "Resume automatic refunds" : "Pause automatic refunds";
  button.dataset.pause = sw.paused ? "false" : "true";
  button.disabled = !state.me?.can_switch;
}

function when(iso) {
  return iso ? `${iso.slice(0, 16).replace("T", " ")} UTC` : "";
}

function fillFacets(facets) {
  const form = document.getElementById("filters");
  for (const [name, values] of Object.entries(facets)) {
    const select = form.elements[name];
    if (!select) continue;
    const current = select.value;
    select.replaceChildren(el("option", { value: "" }, "any"), ...values.map((v) => el("option", { value: v }, v)));
    if (current && !values.includes(current)) select.append(el("option", { value: current }, current));
    select.value = current;
  }
}

async function loadItems({ facets = false } = {}) {
  const params = query();
  history.replaceState(null, "", `${location.pathname}?${params}`);
  const page = await call(`items?${params}&facets=${facets}`);
  state.items = page.items;
  state.selected.clear();
  if (facets) fillFacets(page.facets);
  render(page);
}

function answered(item) {
  if (item.state === "open") return null;
  return el("span", { class: "state" }, `${item.state} by ${item.answered_by}`,
    item.answer_comment ? el("small", {}, item.answer_comment) : null);
}

function answerCell(item) {
  const done = answered(item);
  if (done) return el("td", {}, done);
  const comment = el("input", { placeholder: "comment", maxlength: "2000", size: "12", "aria-label": "Comment" });
  const button = (answer, label, cls) =>
    el("button", { class: cls, disabled: !state.me.can_answer, onclick: () => submit([item.review_item_id], answer, comment.value) }, label);
  return el("td", {}, el("div", { class: "answer" }, comment,
    button("approved", "Approve", "approve"), button("rejected", "Reject", "reject"),
    button("escalated", "Escalate")));
}

function row(item) {
  const box = el("input", { type: "checkbox", "aria-label": "Select", disabled: item.state !== "open",
    onchange: (e) => { e.target.checked ? state.selected.add(item.review_item_id) : state.selected.delete(item.review_item_id); count(); } });
  const raw = el("a", { href: new URL(item.raw_payloads, API).href }, "raw payloads");
  return el("tr", { "data-item": item.review_item_id },
    el("td", {}, box),
    el("td", {}, item.account_id, el("small", {}, `${item.channel ?? ""} ${item.marketplace ?? ""}`), el("small", {}, raw)),
    el("td", {}, item.order_id ?? item.kind, el("small", {}, item.refund_id ?? item.summary)),
    el("td", {}, item.sku ?? "", el("small", {}, item.category ?? "")),
    el("td", { class: "money" }, item.amount ?? "", el("small", {}, item.amount_reporting ?? "")),
    el("td", {}, item.reason ?? "", el("small", {}, item.channel_reason ?? "")),
    el("td", {}, item.disposition ?? ""),
    el("td", {}, item.days_since_delivery ?? "not delivered"),
    el("td", {}, item.rule ?? item.kind, el("small", {}, item.rule_reason ?? item.summary)),
    el("td", {}, item.liable_party ?? ""),
    el("td", {}, item.buyer_refunds_90d ?? "", el("small", {}, item.buyer_ref ? `buyer ${item.buyer_ref.slice(0, 10)}` : "")),
    el("td", {}, item.risk_flags.map((f) => el("span", { class: "flag" }, f))),
    el("td", {}, item.claim ? [item.claim.claim_type, el("small", {}, `${item.claim.amount}, ${item.claim.state}, by ${item.claim.deadline}`)] : ""),
    el("td", {}, when(item.created_at)),
    answerCell(item));
}

function render(page) {
  document.querySelector("#queue tbody").replaceChildren(...page.items.map(row));
  document.getElementById("all").checked = false;
  document.getElementById("pageinfo").textContent =
    `page ${page.page} of ${page.pages} (${page.total} items, ${page.amount_reporting})`;
  document.getElementById("prev").disabled = page.page <= 1;
  document.getElementById("next").disabled = page.page >= page.pages;
  const scope = [];
  if (page.filters.request_id) scope.push(`the items of review request ${page.filters.request_id}`);
  if (page.filters.run_id) scope.push(`the items of run ${page.filters.run_id}`);
  document.getElementById("scope").textContent = scope.length ? `Showing ${scope.join(", ")}.` : "";
  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.classList.toggle("sorted", th.dataset.sort === state.sort);
    th.classList.toggle("asc", th.dataset.sort === state.sort && !state.desc);
  }
  for (const b of document.querySelectorAll("[data-bulk]")) b.disabled = !state.me.can_answer;
  count();
}

function count() {
  document.getElementById("selected").textContent = `${state.selected.size} selected`;
}

async function submit(ids, answer, comment) {
  if (!ids.length) return say("Select items first.", "error");
  try {
    const result = await call("answers", { method: "POST", body: JSON.stringify({ item_ids: ids, answer, comment }) });
    let text = `${result.answered} item${result.answered === 1 ? "" : "s"} ${answer} by ${result.by}.`;
    if (result.resumed.length) text += ` Review task of run ${result.resumed.map((r) => r.run_id).join(", ")} goes on.`;
    say(text);
  } catch (error) {
    if (error.status === 409) {
      const who = [...new Set(Object.values(error.body.taken).map((t) => t.by))].join(", ");
      say(`Taken: ${Object.keys(error.body.taken).length} of these items were answered by ${who} meanwhile. Nothing was written; the list is reloaded.`, "error");
    } else say(error.message, "error");
  }
  await loadItems();
}

async function toggleSwitch() {
  const reason = document.getElementById("switch-reason").value.trim();
  if (!reason) return say("Give a reason for the kill switch: it is kept in the audit log.", "error");
  const pause = document.getElementById("switch-toggle").dataset.pause === "true";
  try {
    const sw = await call("switch", { method: "POST", body: JSON.stringify({ paused: pause, reason }) });
    document.getElementById("switch-reason").value = "";
    showSwitch(sw);
    say(pause ? "Automatic refunds are paused." : "Automatic refunds are resumed.");
  } catch (error) {
    say(error.message, "error");
  }
}

function exportLinks() {
  const days = document.getElementById("export-days").value || "7";
  document.getElementById("export-csv").href = new URL(`export?days=${days}&format=csv`, API).href;
  document.getElementById("export-parquet").href = new URL(`export?days=${days}&format=parquet`, API).href;
}

function wire() {
  document.getElementById("filters").addEventListener("submit", (e) => { e.preventDefault(); state.page = 1; loadItems({ facets: true }).catch((x) => say(x.message, "error")); });
  document.getElementById("clear").addEventListener("click", () => { document.getElementById("filters").reset(); for (const h of ["request_id", "run_id"]) document.getElementById("filters").elements[h].value = ""; state.page = 1; loadItems(); });
  document.getElementById("prev").addEventListener("click", () => { state.page -= 1; loadItems(); });
  document.getElementById("next").addEventListener("click", () => { state.page += 1; loadItems(); });
  document.getElementById("page-size").addEventListener("change", () => { state.page = 1; loadItems(); });
  document.getElementById("all").addEventListener("change", (e) => {
    for (const box of document.querySelectorAll("#queue tbody input[type=checkbox]:not(:disabled)")) {
      box.checked = e.target.checked;
      box.dispatchEvent(new Event("change"));
    }
  });
  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.addEventListener("click", () => {
      state.desc = th.dataset.sort === state.sort ? !state.desc : true;
      state.sort = th.dataset.sort;
      loadItems();
    });
  }
  for (const b of document.querySelectorAll("[data-bulk]")) {
    b.addEventListener("click", () => submit([...state.selected], b.dataset.bulk, document.getElementById("bulk-comment").value));
  }
  document.getElementById("switch-toggle").addEventListener("click", toggleSwitch);
  document.getElementById("export-days").addEventListener("input", exportLinks);
}

addEventListener("DOMContentLoaded", async () => {
  wire();
  filtersFromUrl();
  exportLinks();
  try {
    await loadMe();
    await loadItems({ facets: true });
  } catch (error) {
    say(error.message, "error");
  }
});
